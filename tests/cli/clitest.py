"""What the CLI test scripts share: a check counter that keeps going after a failure, a scratch folder
made empty, and the summary line + exit status at the end."""
import os
import shutil
import sys

_count = [0, 0]  # checks, failures


def check(ok, msg):
    """Counts a check; prints FAIL and the message when ok is false. Returns ok."""
    _count[0] += 1
    if not ok:
        _count[1] += 1
        print("FAIL:", msg)
    return ok


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def finish(name):
    print(f"{name}: {_count[0]} checks, {_count[1]} failed")
    sys.exit(1 if _count[1] else 0)
