"""``turingformer serve``: a local web app in which a class edits a machine (or a program for the
looped computer) and watches the transformer run it, in the same player as ``turingformer animate``.

    library.py   every call into the library (load, check examples, compile, decode, verify): one module
    worker.py    the work of a request, in a forked process with a time and a memory limit
    limits.py    what one request may cost (steps, positions, input, seconds, memory, runs at once)
    app.py       the Tornado application: the page, its assets, the JSON endpoints
    page/        the page's HTML, script and style (package data; the player's come from views/player/)

This layer sits above ``views/`` (it serves the player) and below ``cli/`` (docs/architecture.md).
What runs where, the limits and the security model: docs/player.md.
"""
