"""``inpaint serve`` on the command line: the address it prints, the warning off localhost, a busy port,
and that ``inpaint --help`` never imports the server framework."""

import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner

from inpaint.cli import cli

uvicorn = pytest.importorskip("uvicorn")


@pytest.fixture
def no_serving(monkeypatch):
    """uvicorn's run returns at once: the command's checks and messages without a server loop."""
    calls = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: calls.append(sockets))
    return calls


def test_serve_prints_its_local_address(no_serving):
    result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert "inpaint serve: http://127.0.0.1:" in result.output and "warning" not in result.output
    port = int(result.output.split("http://127.0.0.1:")[1].split("/")[0])
    assert no_serving[0][0].getsockname()[1] == port > 0


def test_serve_warns_when_it_listens_beyond_this_machine(no_serving):
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert "warning: listening on 0.0.0.0" in result.output and "http://0.0.0.0:" in result.output


def test_a_busy_port_and_a_bad_image_are_one_line_errors(no_serving, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--port", str(port)])
    assert result.exit_code == 2 and "choose another --port" in result.output
    (tmp_path / "notes.png").write_text("not an image")
    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "notes.png")])
    assert result.exit_code == 1 and "not an image" in result.output and "Traceback" not in result.output
    assert not no_serving


def test_help_does_not_import_the_server_framework():
    code = ("import sys; from click.testing import CliRunner; from inpaint.cli import cli; "
            "r = CliRunner().invoke(cli, ['--help']); print(r.output); "
            "r = CliRunner().invoke(cli, ['serve', '--help']); print(r.output); "
            "print('starlette' in sys.modules or 'uvicorn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "serve" in out and "--max-pixels" in out and "127.0.0.1" in out
    assert out.split()[-1] == "False"
