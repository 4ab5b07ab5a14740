"""The web application of ``turingformer serve`` (Tornado): the editor page, its assets, and three
JSON endpoints whose work runs in killable worker processes (:mod:`turingformer.serve.worker`).

=====================  ======================================================================
route                  what
=====================  ======================================================================
``GET /``              the page (``serve/page/index.html``), strict Content-Security-Policy
``GET /static/NAME``   ``serve.js``, ``serve.css`` (``serve/page/``), ``player.js``, ``player.css``
                       (the one player, ``views/player/``)
``GET /api/config``    the server's limits, for the page to show
``GET /api/examples``  the menu: the machines and programs of the examples folder, with their text
``POST /api/check``    ``{source, file}`` → the source loaded as that file: ok and a summary with
                       every example checked, or the ``FILE:LINE:COL`` error
``POST /api/run``      ``{source, file, input, max_steps}`` → the player's data, or the error
=====================  ======================================================================

Security (docs/player.md): the server binds to 127.0.0.1 unless told otherwise; on loopback it
answers only requests whose Host is a loopback name (no DNS rebinding); POSTs must be
``application/json`` (a cross-site form cannot send one without a CORS preflight, which is never
granted); request bodies, sources and inputs are bounded; nothing typed is executed and nothing is
written (the workers only parse, compile and decode). Every page and answer carries
``Content-Security-Policy: default-src 'self'`` without inline script, ``nosniff`` and
``frame-ancestors 'none'``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from importlib import resources
from pathlib import Path

import tornado.web

from turingformer.serve.library import example_files
from turingformer.serve.limits import Limits
from turingformer.serve.worker import Workers

#: Content types of the static assets.
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
#: The static assets and the package folder each comes from: the player is the one of ``animate``.
_ASSETS = {"serve.js": "turingformer.serve", "serve.css": "turingformer.serve",
           "player.js": "turingformer.views", "player.css": "turingformer.views"}
_FOLDERS = {"turingformer.serve": "page", "turingformer.views": "player"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")


def asset(name: str) -> str:
    package = _ASSETS[name]
    return resources.files(package).joinpath(_FOLDERS[package], name).read_text(encoding="utf-8")


class _Handler(tornado.web.RequestHandler):
    def initialize(self, app: "ServeApp") -> None:
        self.app = app

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")

    def prepare(self) -> None:
        if self.app.loopback:
            host = self.request.host.rsplit(":", 1)[0] if not self.request.host.startswith("[") \
                else self.request.host.split("]")[0] + "]"
            if host not in LOOPBACK_NAMES:
                raise tornado.web.HTTPError(403, reason="this server answers only at 127.0.0.1 / localhost")

    def write_json(self, body: bytes | dict, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(body if isinstance(body, bytes) else json.dumps(body).encode("utf-8"))

    def json_body(self) -> dict:
        if self.request.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            raise tornado.web.HTTPError(415, reason="send application/json")
        try:
            body = json.loads(self.request.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise tornado.web.HTTPError(400, reason="the body is not JSON") from None
        if not isinstance(body, dict):
            raise tornado.web.HTTPError(400, reason="the body is not a JSON object")
        return body

    def source_of(self, body: dict) -> tuple[str, str] | None:
        """(source, file) of a request, or None after answering a refusal."""
        source, file = body.get("source", ""), body.get("file", "machine.yaml")
        if not isinstance(source, str) or not isinstance(file, str):
            raise tornado.web.HTTPError(400, reason="source and file must be strings")
        if len(source) > self.app.limits.max_source:
            self.write_json({"error": {"message": f"the source has {len(source):,} characters; this server reads at "
                                                  f"most {self.app.limits.max_source:,}", "hint": None, "line": None,
                                       "column": None}, "limit": True, "ok": False})
            return None
        return source, file[:200]


class PageHandler(_Handler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(resources.files("turingformer.serve").joinpath("page", "index.html").read_text(encoding="utf-8"))


class AssetHandler(_Handler):
    def get(self, name: str) -> None:
        if name not in _ASSETS:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", _TYPES[Path(name).suffix])
        self.finish(asset(name))


class ConfigHandler(_Handler):
    def get(self) -> None:
        self.write_json({"limits": asdict(self.app.limits)})


class ExamplesHandler(_Handler):
    def get(self) -> None:
        self.write_json({"examples": self.app.examples})


class CheckHandler(_Handler):
    async def post(self) -> None:
        found = self.source_of(self.json_body())
        if found is None:
            return
        result = await self.app.workers.submit("check", text=found[0], file=found[1],
                                               max_steps=self.app.limits.max_steps)
        self.write_json(result.body, result.status)


class RunHandler(_Handler):
    async def post(self) -> None:
        body = self.json_body()
        found = self.source_of(body)
        if found is None:
            return
        limits = self.app.limits
        word = body.get("input", "")
        asked = body.get("max_steps", limits.max_steps)
        if not isinstance(word, str) or not isinstance(asked, int) or isinstance(asked, bool) or asked < 0:
            raise tornado.web.HTTPError(400, reason="input must be a string and max_steps a whole number")
        if len(word) > limits.max_input:
            self.write_json({"error": {"message": f"the input has {len(word):,} symbols; this server runs at most "
                                                  f"{limits.max_input:,}", "hint": None, "line": None, "column": None},
                             "limit": True})
            return
        steps = min(asked, limits.max_steps)
        result = await self.app.workers.submit("run", text=found[0], file=found[1], word=word, max_steps=steps,
                                               max_positions=limits.max_positions)
        body_out = result.body
        if result.status == 200 and steps < asked:
            answer = json.loads(body_out)
            answer["clamped"] = limits.max_steps
            body_out = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        self.write_json(body_out, result.status)


class ServeApp:
    """The application: its limits, its workers and the examples menu (read once at start)."""

    def __init__(self, limits: Limits, examples_folder: Path | None, *, loopback: bool = True):
        self.limits = limits
        self.loopback = loopback
        self.examples = example_files(examples_folder) if examples_folder and examples_folder.is_dir() else []
        self.workers = Workers(limits.processes, time_limit=limits.time_limit, memory_limit_mib=limits.memory_mib)

    def tornado_app(self) -> tornado.web.Application:
        args = {"app": self}
        return tornado.web.Application([
            (r"/", PageHandler, args),
            (r"/static/([a-z.]+)", AssetHandler, args),
            (r"/api/config", ConfigHandler, args),
            (r"/api/examples", ExamplesHandler, args),
            (r"/api/check", CheckHandler, args),
            (r"/api/run", RunHandler, args),
        ], compress_response=True)


def serve(limits: Limits, *, host: str = "127.0.0.1", port: int = 8000, examples_folder: Path | None = None,
          ready=None) -> None:
    """Serve until interrupted. ``ready(url)`` is called once the socket listens (``port=0``: a free
    port, the URL says which)."""
    import asyncio

    import tornado.httpserver
    import tornado.netutil

    app = ServeApp(limits, examples_folder, loopback=host in LOOPBACK_NAMES)

    async def main() -> None:
        sockets = tornado.netutil.bind_sockets(port, host)
        server = tornado.httpserver.HTTPServer(app.tornado_app(), max_body_size=limits.max_body)
        server.add_sockets(sockets)
        await asyncio.get_running_loop().run_in_executor(None, app.workers.warm_up)
        bound = sockets[0].getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        if ready is not None:
            ready(f"http://{shown}:{bound}/")
        try:
            await asyncio.Event().wait()
        finally:
            server.stop()

    try:
        asyncio.run(main())
    finally:
        app.workers.close()
