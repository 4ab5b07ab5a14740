"""``trace PROGRAM``: the views of a program's run on its looped transformer (the punch card after
every block of a loop, the attention winners, the memory over the loops, the verification).
Reached from ``trace`` by file kind; ``--max-steps`` counts loops (one loop = one instruction).
"""

from __future__ import annotations

import argparse
import sys

from turingformer.cli.common import chosen_construction, load, refuse_input_for_program
from turingformer.errors import TuringformerError


# ---------------------------------------------------------------------------- trace
def run_trace(args: argparse.Namespace) -> int:
    """``trace PROGRAM``: card (the punch card after every block of loop --step), attention (the column
    each column attended to), spacetime (memory over the loops) or verification."""
    from turingformer.compiler import compile
    from turingformer.compiler.looped.verify import trace_loop
    from turingformer.views.figures import save

    refuse_input_for_program(args)
    if args.position is not None:
        raise TuringformerError("--position is a decoder position of the Pérez transformer; a program runs loops",
                                hint="use --step T for loop T")
    program = load(args)
    model = compile(program, chosen_construction(args, program).name)
    view = "card" if args.view == "residual" else args.view
    if view == "diagram":
        raise TuringformerError("a program has no state diagram", hint="use --view card, attention or spacetime")
    if view == "verification":
        from turingformer.analysis.verify import verify
        result = verify(program, model=model, max_steps=args.max_steps)
        print(f"{result.checked:,} loops: " + ("agree" if result.ok else f"DIVERGENCE: {result.divergence}"))
        return 0 if result.ok else 1
    if view == "spacetime":
        trace = model.run(max_steps=args.max_steps).trace
        if args.output is None:
            sys.stdout.writelines(line + "\n" for line in trace.table_lines())
            return 0
        from turingformer.views.looped import memory_over_loops
        save(memory_over_loops(trace), args.output)
        print(f"wrote {args.output}")
        return 0
    t = 1 if args.step is None else args.step
    if t < 1:
        raise TuringformerError(f"--step {t}: loops count from 1", hint="use --step 1 for the first loop")
    if t > args.max_steps:
        raise TuringformerError(f"--step {t:,} is past the loop limit of {args.max_steps:,}",
                                hint="raise --max-steps to trace a later loop")
    from turingformer.programs import run as interpret
    loops = interpret(program, max_steps=t, record=False).steps
    if t > loops:
        raise TuringformerError(f"--step {t:,} is past the end of the run: the program halts after {loops:,} loops",
                                hint=f"choose a loop from 1 to {loops:,}")
    traced = trace_loop(model, t)
    if args.output is None:
        if view == "card":
            print(f"== loop {t} input\n{traced.table(None)}\n")
            for l in range(len(traced.cards)):
                print(f"== after block {l}\n{traced.table(l)}\n")
        else:
            from turingformer.runtime.transformer import head_names
            for l, block in enumerate(model.transformer.blocks):
                for name, winners in zip(head_names(f"loop.{l}", len(block.heads)), traced.winners[l]):
                    print(f"{name}: " + " ".join(f"{j}->{i}" for j, i in enumerate(winners)))
        return 0
    from turingformer.views.looped import attention_map, punch_card
    save(punch_card(traced) if view == "card" else attention_map(traced), args.output)
    print(f"wrote {args.output}")
    return 0
