"""A warm start for many short runs: one process imports torch once and forks a child per run.

Every ``distancing train`` of a pipeline would spend about a CPU-second importing torch, as
much as a small run's training steps. ``distancing serve --socket PATH`` imports the training
stack once and waits. A ``distancing train`` that finds ``DISTANCING_SERVER=PATH`` in its
environment hands its arguments, working directory, environment and standard streams to the
server, which forks a child that runs the command exactly as the client would have: the run seeds
everything itself, so it writes the same bytes. Before the first run of each kind the server
compiles its steps (``compiled.py``: one thread, so no thread pool exists to inherit), and every
child of that kind inherits the compiled code instead of compiling its own (``compiled_graphs``
in its timing.csv says how many it compiled: 0). The client waits and exits
with the child's code; if the client ends (Ctrl-C, a killed job), the server terminates the
child, which resumes from its state like any killed run. If no server answers, or the server
refuses, the client runs the command itself.

The server pins its kernels (``numerics.pin``) before it imports torch; a run whose config asks
for other kernels (``numerics: native`` beside a portable server) is refused and starts cold.
Only processes descended from the server's parent (the Snakemake that started it) are served:
a job that a cluster scheduler started on the same node runs in its own process, inside the
scheduler's accounting. Linux only (SCM_RIGHTS, pidfd); elsewhere every run starts cold.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import struct
import sys
import traceback
from collections.abc import Callable, Sequence

from . import usage
from .numerics import environment

ENVIRONMENT = "DISTANCING_SERVER"
Command = Callable[[list[str]], int]  # argv -> exit code
Prepare = Callable[[list[str]], bool]  # argv -> whether it did anything (compiled a run's steps)
_MESSAGE = 1 << 20  # the largest request (arguments and environment), bytes


def available() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def descends_from(pid: int, ancestor: int) -> bool:
    """Whether ``ancestor`` is ``pid`` or one of its ancestors (Linux /proc)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        while pid > 1:
            if pid == ancestor:
                return True
            pid = parent_of(pid)
    return False


# ---------------------------------------------------------------- client


def delegate(path: str, argv: Sequence[str]) -> int | None:
    """Run ``distancing argv`` in the server at ``path``; its exit code, or None if none served it."""
    if not available():
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as connection:
        try:
            connection.connect(path)
            request = {"argv": list(argv), "cwd": os.getcwd(), "env": dict(os.environ)}
            socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2])
            reply = json.loads(connection.recv(_MESSAGE) or b"{}")
        except OSError:
            return None
        if "pid" not in reply:  # refused: not one of the server's jobs
            return None
        try:
            reply = json.loads(connection.recv(_MESSAGE) or b"{}")
        except KeyboardInterrupt:
            return 130  # closing the connection makes the server terminate the child
        if "exit" not in reply:
            print(f"error: the training server at {path} ended during the run", file=sys.stderr)
            return 1
        return int(reply["exit"])


# ---------------------------------------------------------------- server


def _run_child(request: dict, fds: list[int], command: Command) -> int:
    """In the forked child: become the client's process (streams, directory, environment), run it."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ.pop(ENVIRONMENT, None)  # the child trains itself
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return command(request["argv"])
    except SystemExit as exc:  # argparse errors and --help
        return exc.code if isinstance(exc.code, int) else 2
    except BaseException:
        traceback.print_exc()
        return 1


def serve(path: str, command: Command, log=print, prepare: Prepare | None = None) -> None:
    """Accept runs on the Unix socket ``path`` until SIGTERM or until the parent process ends; each
    forked child runs ``command`` (the ``distancing`` command's main) on the client's arguments,
    after ``prepare`` (the CLI's ``warm_up``: compiling the run's steps) ran on them in this process.

    The training stack is imported with the first run, so a pipeline that trains nothing (a
    re-plot) pays only for a bare interpreter."""
    owner = os.getppid()
    if owner <= 1:
        raise SystemExit("error: distancing serve: start it from the process whose descendants it serves "
                         "(it has no parent to serve)")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, ("accept",))
    children: dict[int, socket.socket] = {}  # child pid -> its client's connection
    pidfds: dict[int, int] = {}  # child pid -> a descriptor that becomes readable when it ends
    stopping = []
    for stop in (signal.SIGTERM, signal.SIGINT):  # Ctrl-C reaches the whole process group
        signal.signal(stop, lambda *_: stopping.append(True))
    log(f"serving runs on {path} for the descendants of process {owner}")
    try:
        while not stopping and os.getppid() == owner:
            for key, _ in selector.select(timeout=1.0):
                kind = key.data[0]
                if kind == "accept":
                    _accept(listener, selector, children, pidfds, owner, command, log, prepare)
                elif kind == "client":  # the client hung up (or sent more): end its run
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(key.data[1], signal.SIGTERM)
                    selector.unregister(key.fileobj)
                else:  # a child ended
                    pid = key.data[1]
                    _, status = os.waitpid(pid, 0)
                    code = os.waitstatus_to_exitcode(status)
                    selector.unregister(pidfds[pid])
                    os.close(pidfds.pop(pid))
                    connection = children.pop(pid)
                    with contextlib.suppress(OSError):
                        connection.send(json.dumps({"exit": code}).encode())
                    with contextlib.suppress(KeyError, ValueError):
                        selector.unregister(connection)
                    connection.close()
                    log(f"run {pid} ended with exit code {code}")
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in list(children):
            os.waitpid(pid, 0)
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        log(usage.at_exit())  # its runs and its compiler's processes are the processes it waited for


def _accept(listener: socket.socket, selector: selectors.BaseSelector, children: dict, pidfds: dict, owner: int,
            command: Command, log, prepare: Prepare | None) -> None:
    connection, _ = listener.accept()
    try:
        message, fds, _, _ = socket.recv_fds(connection, _MESSAGE, 3)
        request = json.loads(message)
        pid = peer_pid(connection)
    except (OSError, ValueError):
        connection.close()
        return
    if len(fds) != 3 or not descends_from(pid, owner) or environment(request.get("env", {})) != environment():
        # not one of its jobs, or one that asks for other kernels (numerics.py) than this process pinned
        for fd in fds:
            os.close(fd)
        with contextlib.suppress(OSError):
            connection.send(b"{}")  # refused: the client runs the command itself
        connection.close()
        return
    from . import training  # noqa: F401 - the point of the server: torch and the trainer, imported once

    if prepare is not None:
        _prepare(prepare, request, log)
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        code = 1
        try:
            selector.close()
            for inherited in (listener, connection, *children.values()):
                inherited.close()
            for pidfd in pidfds.values():
                os.close(pidfd)
            code = _run_child(request, fds, command)
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    for fd in fds:
        os.close(fd)
    children[child] = connection
    pidfds[child] = os.pidfd_open(child)
    selector.register(pidfds[child], selectors.EVENT_READ, ("child", child))
    selector.register(connection, selectors.EVENT_READ, ("client", child))
    connection.send(json.dumps({"pid": child}).encode())
    log(f"run {child}: {_run_name(request['argv'])}")


def _prepare(prepare: Prepare, request: dict, log) -> None:
    """Run ``prepare`` on a request in its working directory (its paths are relative to it)."""
    from .outputs import cpu_seconds  # the training stack: imported by now

    here, started = os.getcwd(), cpu_seconds()
    try:
        os.chdir(request["cwd"])
        if prepare(request["argv"]):
            log(f"compiled the steps of runs like {_run_name(request['argv'])} in "
                f"{cpu_seconds() - started:.1f} CPU-s, its compiler's included (children inherit them)")
    except (Exception, SystemExit) as exc:  # the child meets the same problem and reports it
        log(f"did not compile for {_run_name(request['argv'])}: {str(exc).splitlines()[0] if str(exc) else exc!r}")
    finally:
        os.chdir(here)


def _run_name(argv: list[str]) -> str:
    return argv[argv.index("--out") + 1] if "--out" in argv else " ".join(argv)


def peer_pid(connection: socket.socket) -> int:
    """The connecting process's pid (SO_PEERCRED: pid, uid, gid as three ints)."""
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", credentials)[0]
