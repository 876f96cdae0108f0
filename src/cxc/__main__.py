"""The `cxc` command (and `python -m cxc`): Ctrl-C is answered from the first instant.

Importing the command line takes a tenth of a second (typer, rich), and an interrupt
then would end in a traceback from whichever module was being imported. So SIGINT is
taken over before anything else is imported: while cxc starts, an interrupt ends it at
once (nothing has been touched yet); while a command runs, it raises KeyboardInterrupt,
which rolls back the store's transaction and which :func:`cxc.cli.main` turns into its
one line; once the command has finished, a late interrupt is ignored.

This module imports only what Python has loaded before it runs (``_signal`` is what
``signal`` wraps, without the enum module that takes milliseconds to import), and so has
no ``from __future__`` import either: annotations are quoted.
"""

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing takes as long as an interrupt needs
if TYPE_CHECKING:
    import signal as _signal
    from types import FrameType
    from typing import NoReturn
else:
    import _signal

INTERRUPTED = "cxc: interrupted; the store is as it was before this command"
EXIT_INTERRUPTED = 130
"""128 + SIGINT, what shells report for a command ended by Ctrl-C."""


def _stop_while_starting(signum: int, frame: "FrameType | None") -> None:
    try:
        os.write(2, f"{INTERRUPTED}\n".encode())
    finally:
        os._exit(EXIT_INTERRUPTED)


def _unraisable(unraisable: "sys.UnraisableHookArgs") -> None:
    """An interrupt that Python cannot raise where it came (in a weak reference's callback,
    as the import system has): the command is ended as if it had been killed, which the
    store and the export folders withstand, with the interrupt's one line."""
    if issubclass(unraisable.exc_type, KeyboardInterrupt):
        _stop_while_starting(_signal.SIGINT, None)
    sys.__unraisablehook__(unraisable)


def main() -> "NoReturn":
    """Run the command line, with SIGINT in hand before it is imported."""
    # Not when the shell had SIGINT ignored (`cxc ... &` in a script): it stays ignored.
    catch = _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler
    if catch:
        _signal.signal(_signal.SIGINT, _stop_while_starting)
        sys.unraisablehook = _unraisable
    try:
        from cxc import cli

        if catch:
            _signal.signal(_signal.SIGINT, _signal.default_int_handler)
        cli.main()
    except KeyboardInterrupt:  # in the last steps of the command line's own ending
        _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
        sys.stderr.write(f"{INTERRUPTED}\n")
        sys.exit(EXIT_INTERRUPTED)
    finally:  # the command has finished: too late to interrupt it
        _signal.signal(_signal.SIGINT, _signal.SIG_IGN)


if __name__ == "__main__":
    main()
