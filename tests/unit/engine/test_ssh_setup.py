"""``posix_command``: the command line an SSH login shell gets is passed on to ``sh``
unchanged by dash, bash and tcsh alike (quotes, backslashes, ``$``, ``!``, ``%``, line
breaks, non-ASCII), and a command too long for one argument is refused clearly."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from windflow_desktop.domain.errors import ValidationError
from windflow_desktop.engine.ssh_setup import posix_command

SCRIPT = """x="${NOT_SET:-fallback}"
printf '%s|%s|%d%%\\n' "$x" 'it'"'"'s "q" \\\\ $HOME !bang `no` é' 42
for i in 1 2; do echo "line $i"; done
exit 5"""
EXPECTED = ["fallback|it's \"q\" \\\\ $HOME !bang `no` é|42%", "line 1", "line 2"]


@pytest.mark.parametrize("shell", ["dash", "bash", "tcsh", "busybox"])
def test_every_login_shell_hands_the_script_to_sh_unchanged(shell: str) -> None:
    path = shutil.which(shell)
    if path is None:
        pytest.skip(f"{shell} is not installed here")
    argv = [path, "sh", "-c"] if shell == "busybox" else [path, "-c"]
    done = subprocess.run([*argv, posix_command(SCRIPT)], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": "/nowhere"}, timeout=30)
    assert done.returncode == 5, done.stderr
    assert done.stdout.splitlines() == EXPECTED
    # What needs no escaping stays readable (ps, the tests' kill-by-marker helper).
    assert "for i in 1 2; do echo " in posix_command(SCRIPT)


def test_a_command_too_long_for_one_argument_is_refused() -> None:
    with pytest.raises(ValidationError, match="too long to run over SSH"):
        posix_command("echo " + "'x'" * 40_000)
