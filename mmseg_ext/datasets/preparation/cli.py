"""How a dataset converter's command line ends on bad input.

``tools/dataset_converters/*.py`` call :func:`run`: the conversion's
``main(argv)`` raises on a bad download (naming the file), and the command
prints ``error: <message>`` on a line of its own (after an interrupted
progress bar) and exits 1, with no Python traceback; Ctrl-C exits 130.
Files a conversion finished are kept, unfinished ones never carry their
final name (:mod:`mmseg_ext.utils.atomic_io`), and the next run cleans the
temporary files a killed run left and resumes.
"""
import sys
import zipfile
from typing import Callable, Optional, Sequence

#: Bad input or environment: reported in one line. Anything else is a bug
#: and keeps its traceback.
INPUT_ERRORS = (ValueError, OSError, KeyError, RuntimeError,
                zipfile.BadZipFile)


def error_text(err: BaseException) -> str:
    """The message of ``err`` (a KeyError's without the quotes repr adds)."""
    if isinstance(err, KeyError) and len(err.args) == 1:
        return str(err.args[0])
    return str(err)


def run(main: Callable[[Optional[Sequence[str]]], object],
        argv: Optional[Sequence[str]] = None) -> int:
    """Call ``main(argv)``; return the exit status.

    Returns:
        int: ``main``'s own status if it returns an int, else 0; 1 after
        printing ``error: ...`` for one of :data:`INPUT_ERRORS`; 130 on
        KeyboardInterrupt.
    """
    try:
        status = main(argv)
    except INPUT_ERRORS as err:
        print(f'error: {error_text(err)}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            'error: interrupted; finished files are kept, run the same '
            'command again to complete the conversion',
            file=sys.stderr)
        return 130
    return status if isinstance(status, int) else 0
