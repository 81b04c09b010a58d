"""A tiny OpenAI-compatible chat server on 127.0.0.1 that misbehaves on request.

Each request is answered by the server's current `mode`, as one JSON body or, when the client
asks to stream, as server-sent events; every request (path, headers and JSON body) is
recorded, so a test can check what the client really sent.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("echo", "slow", "malformed", "empty", "endless", "trickle", "keepalive", "stall", "refuse",
         "unauthorized", "die", "invalid_tool_call", "unknown_tool")
# The never-ending modes give up after this long, so a client without a deadline fails its
# test instead of hanging it.
ENDLESS_S = 60.0
TRICKLE_S = 0.5  # one token (or keep-alive) this often: always sooner than any read timeout


def _chunk(content: str | None = None, *, finish_reason: str | None = None,
           tool_calls: list[dict] | None = None) -> bytes:
    """One server-sent event of a streamed completion."""
    delta: dict = {"role": "assistant", "content": content} if content is not None else {}
    if tool_calls:
        delta = {"role": "assistant", "content": None,
                 "tool_calls": [{"index": index, **call} for index, call in enumerate(tool_calls)]}
    event = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
             "model": "fake", "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
    return f"data: {json.dumps(event)}\n\n".encode()


def _completion(content: str | None, *, tool_calls: list[dict] | None = None) -> dict:
    message: dict = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": "fake", "choices": [{"index": 0, "message": message,
                                          "finish_reason": "tool_calls" if tool_calls else "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up (a timeout) closed the socket: expected here


class FakeOpenAI:
    """Start with `with FakeOpenAI() as server:`; `server.url` is the base URL (…/v1)."""

    def __init__(self, mode: str = "echo", *, reply: str = "A short paragraph.") -> None:
        self.mode, self.reply = mode, reply
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep the test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                headers = {name.lower(): value for name, value in self.headers.items()}
                owner.requests.append({"path": self.path, "headers": headers, "body": body})
                owner._answer(self, streamed=bool(body.get("stream")))

        self._stopped = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _answer(self, handler: BaseHTTPRequestHandler, *, streamed: bool) -> None:
        mode = self.mode
        if mode == "slow":
            time.sleep(5.0)
        if mode in ("trickle", "keepalive"):
            return self._trickle(handler, streamed=streamed, tokens=mode == "trickle")
        if mode == "stall":
            # Headers, then silence with the connection held open.
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", "1000")
            handler.end_headers()
            handler.wfile.flush()
            self._stopped.wait(ENDLESS_S)
            return
        if mode == "die" and streamed:
            # A few tokens of a streamed reply, then the connection drops.
            self._start_events(handler)
            for word in ("The", " song", " opens"):
                handler.wfile.write(_chunk(word))
            handler.wfile.flush()
            handler.connection.close()
            return
        if mode == "die":
            # Headers and half a body, then the connection drops.
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", "1000")
            handler.end_headers()
            handler.wfile.write(b'{"id": "chatcmpl-fake", "choi')
            handler.wfile.flush()
            handler.connection.close()
            return
        if mode == "refuse":
            return self._send(handler, 503, {"error": {"message": "the server is overloaded"}})
        if mode == "unauthorized":
            key = handler.headers.get("Authorization", "").removeprefix("Bearer ")
            # Like the real API, the error quotes the key it was given.
            return self._send(handler, 401, {"error": {"message": f"Incorrect API key provided: {key}",
                                                       "type": "invalid_request_error"}})
        if mode == "malformed":
            return self._send(handler, 200, b"<html>this is not JSON</html>")
        if mode == "empty":
            return self._reply(handler, "", streamed=streamed)
        if mode == "endless":
            return self._reply(handler, "and then the music goes on " * 20000, streamed=streamed)
        if mode == "invalid_tool_call":
            return self._reply(handler, None, streamed=streamed, tool_calls=[{
                "id": "call_1", "type": "function",
                "function": {"name": "song_facts", "arguments": "{not json"}}])
        if mode == "unknown_tool":
            return self._reply(handler, None, streamed=streamed, tool_calls=[{
                "id": "call_1", "type": "function",
                "function": {"name": "rm_rf", "arguments": "{}"}}])
        return self._reply(handler, self.reply, streamed=streamed)

    def _reply(self, handler: BaseHTTPRequestHandler, content: str | None, *, streamed: bool,
               tool_calls: list[dict] | None = None) -> None:
        """A complete reply: one JSON body, or (when the client asked to stream) its events."""
        if not streamed:
            return self._send(handler, 200, _completion(content, tool_calls=tool_calls))
        self._start_events(handler)
        if tool_calls:
            handler.wfile.write(_chunk(tool_calls=tool_calls))
        for word in (content or "").split(" ") if content else []:
            handler.wfile.write(_chunk(word + " "))
        handler.wfile.write(_chunk(finish_reason="tool_calls" if tool_calls else "stop") + b"data: [DONE]\n\n")

    @staticmethod
    def _start_events(handler: BaseHTTPRequestHandler) -> None:
        # HTTP/1.0 and no Content-Length: the body runs until the server closes the connection.
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()

    def _trickle(self, handler: BaseHTTPRequestHandler, *, streamed: bool, tokens: bool) -> None:
        """A reply that never ends: a token (or a keep-alive) every TRICKLE_S seconds.

        Streamed, the tokens are server-sent events and the keep-alives SSE comments; plain,
        the JSON body grows by a word (or a space before it starts) at a time. A client that
        gives up closes the socket, and the next write ends this.
        """
        if streamed:
            self._start_events(handler)
        else:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.end_headers()
            if tokens:
                handler.wfile.write(b'{"id": "chatcmpl-fake", "object": "chat.completion", "choices": '
                                    b'[{"index": 0, "message": {"role": "assistant", "content": "and then')
        ends = time.monotonic() + ENDLESS_S
        while time.monotonic() < ends and not self._stopped.is_set():
            if tokens:
                handler.wfile.write(_chunk(" la") if streamed else b" la")
            else:
                handler.wfile.write(b": keep-alive\n\n" if streamed else b" ")
            handler.wfile.flush()
            self._stopped.wait(TRICKLE_S)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict | bytes) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def __enter__(self) -> "FakeOpenAI":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()
