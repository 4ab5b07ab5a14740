"""The player in a notebook cell: an anywidget (JupyterLab, Notebook 7, VS Code, Colab) that
mounts the same script and data as the HTML page (:mod:`turingformer.views.player`)::

    from turingformer.views.widget import player
    w = player(machine, "1011")     # the cell shows it; w.step is the step shown, and can be set

The widget's state is the data dict (as JSON text) and ``step``, kept in sync both ways: moving
the slider updates ``w.step``, and ``w.step = 12`` moves the player.

Displayed, the widget also carries a static snapshot of the player at its current step as
``text/html`` (:func:`~turingformer.views.player.snapshot_html`: no script, the diagram as SVG):
Jupyter shows the live widget, and a saved notebook opened where widgets cannot run (GitHub,
nbviewer) shows the snapshot instead of nothing.
"""

from __future__ import annotations

import json

from turingformer.compiler.perez.model import PerezModel
from turingformer.errors import TuringformerError
from turingformer.tm.machine import TuringMachine
from turingformer.views.player import asset, diagram_svg, player_data, snapshot_html

_GLUE = """
export default {
  render({ model, el }) {
    const player = mountPlayer(el, JSON.parse(model.get("data")));
    player.go(model.get("step"));
    new MutationObserver(() => {
      const t = +el.getAttribute("data-step");
      if (t !== model.get("step")) { model.set("step", t); model.save_changes(); }
    }).observe(el, { attributes: true, attributeFilter: ["data-step"] });
    model.on("change:step", () => { if (model.get("step") !== player.step) player.go(model.get("step")); });
  },
};
"""


def _widget_class():
    try:
        import anywidget
        import traitlets
    except ImportError:  # pragma: no cover - anywidget is a declared extra
        raise TuringformerError("the notebook player needs anywidget, which is not installed",
                                hint="pip install 'turingformer[widget]'  (or write a page: turingformer animate)") from None

    class Player(anywidget.AnyWidget):
        """The turingformer player as a widget (see :func:`player`)."""

        _esm = asset("player.js") + _GLUE
        _css = asset("player.css")
        data = traitlets.Unicode("{}").tag(sync=True)
        step = traitlets.Int(0).tag(sync=True)

        def __repr__(self) -> str:
            info = json.loads(self.data)
            return f"Player(machine={info.get('machine')!r}, input={info.get('input')!r}, steps={info.get('steps')}, step={self.step})"

        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
            if getattr(self, "machine", None) is not None:
                data = {**data, "text/html": snapshot_html(self.machine, self.info, self.step)}
            return data, metadata

    return Player


def player(machine: TuringMachine, word: str = "", *, max_steps: int = 2_000, model: PerezModel | None = None,
           step: int = 0):
    """A widget that steps through the compiled transformer's run of ``machine`` on ``word``
    (at most ``max_steps`` machine steps), showing ``step`` first."""
    data = player_data(machine, word, max_steps=max_steps, model=model)
    data["diagram"] = diagram_svg(machine)
    widget = _widget_class()(data=json.dumps(data, ensure_ascii=False), step=max(0, min(step, data["steps"])))
    widget.info = data
    widget.machine = machine
    return widget
