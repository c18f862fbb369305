"""Start, watch or stop the default model's training run in the background, across sessions.

python -m quals.train.background start --work build/train-default [--then CMD] -- ARGS...   (ARGS: quals.train's)
python -m quals.train.background status --work build/train-default
python -m quals.train.background stop --work build/train-default

Why: the v4 recipe needs many CPU hours, more than one working session; a session starts (or resumes) it first
thing and does other work while it runs. `start` runs `python -m quals.train ARGS` at nice 10, detached, with
its output in work/run.log and its process id in work/run.pid; the run itself resumes from work/state.pt (written
atomically every --save-every-s seconds), so `start` after a stop, a crash or a new session continues where the
last checkpoint left off. It refuses to start a second run in the same folder. --then CMD: a shell command run
in the same detached session when the training process ends with status 0 (the run finished), e.g. the export
and the measurements (`make measure-default`), so that they start the moment the run ends; `stop` stops it too.

A new session (start_new_session) is also a new scheduler autogroup on Linux, and the kernel weighs
autogroups against each other before it looks at a process's nice value: at nice 10 alone the run still took
half of the CPU from a scoring job of the working session. So the run's autogroup gets the nice value too
(/proc/PID/autogroup, where the kernel has it): the run then takes only the CPU that nothing else wants.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path


def running(work: Path) -> int | None:
    """The process id of the run in `work` if it is alive."""
    pid_file = work / "run.pid"
    if not pid_file.is_file():
        return None
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, PermissionError):
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.is_file() and b"quals.train" not in cmdline.read_bytes():
        return None  # the id was reused by another program
    return pid


def start(work: Path, args: list[str], nice: int = 10, then: str | None = None) -> int:
    """Start (or resume) the run in `work` detached, at `nice`; `then`: a shell command run after it when it
    finishes (status 0), its output in the same log. Returns the process id (the shell's when `then` is given:
    its command line names quals.train too, so `running` and `stop` find it)."""
    pid = running(work)
    if pid is not None:
        raise RuntimeError(f"a training run is already going in {work} (pid {pid})")
    work.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "quals.train", "--work", str(work), *args]
    if then:
        cmd = ["/bin/sh", "-c", f"{shlex.join(cmd)} && {{ {then}\n}}"]
    with (work / "run.log").open("ab") as log:
        proc = subprocess.Popen(cmd,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=lambda: os.nice(nice))
    (work / "run.pid").write_text(f"{proc.pid}\n")
    _nice_autogroup(proc.pid, nice)
    return proc.pid


def _nice_autogroup(pid: int, nice: int) -> None:
    """Give the run's scheduler autogroup `nice` (see the module's docstring); nothing where the kernel has no
    autogroups or does not allow it."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(f"{nice}\n")
    except OSError:
        pass


def status(work: Path) -> dict:
    """Whether it runs, and the learning curve's last line and last validation / probe figures."""
    curve = work / "history.jsonl"
    lines = [json.loads(x) for x in curve.read_text().split("\n") if x.strip()] if curve.is_file() else []
    out: dict = {"work": str(work), "running": running(work), "last": lines[-1] if lines else None}
    for key in ("val_nll", "xquad_gold_nll"):
        hit = next((x for x in reversed(lines) if key in x), None)
        if hit is not None:
            out[f"last_{key}"] = hit
    out["finished"] = (work / "train_stats.json").is_file()
    return out


def stop(work: Path) -> bool:
    pid = running(work)
    if pid is None:
        return False
    os.killpg(pid, signal.SIGTERM)
    return True


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m quals.train.background", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["start", "status", "stop"])
    p.add_argument("--work", type=Path, default=Path("build/train-default"))
    p.add_argument("--then", default=None, metavar="CMD",
                   help="start: a shell command to run when the training run has finished (status 0)")
    p.epilog = "start: the arguments after -- are python -m quals.train's"
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    a, args = p.parse_args(argv[:cut]), argv[cut + 1:]
    if a.action == "start":
        try:
            pid = start(a.work, args, then=a.then)
        except RuntimeError as exc:
            p.exit(1, f"{exc}\n")
        print(f"training in the background: pid {pid}, log {a.work / 'run.log'}, curve {a.work / 'history.jsonl'}")
    elif a.action == "status":
        print(json.dumps(status(a.work), indent=1))
    else:
        print("stopped" if stop(a.work) else "not running")


if __name__ == "__main__":
    main()
