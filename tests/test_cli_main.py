"""The entry point's command table matches the commands, and ``inpaint --help`` needs no torch."""

import subprocess
import sys

from click.testing import CliRunner

from inpaint.cli import cli as full_cli
from inpaint.cli_main import COMMANDS, cli, load_command


def test_table_lists_every_command_with_its_own_short_help():
    assert sorted(COMMANDS) == sorted(full_cli.commands)
    for name, (_, short) in COMMANDS.items():
        command = load_command(name)
        assert command is full_cli.commands[name], name
        assert short == " ".join(command.help.split("\n\n")[0].split()), name


def test_help_lists_commands_without_importing_torch():
    code = ("import sys; from click.testing import CliRunner; from inpaint.cli_main import cli; "
            "r = CliRunner().invoke(cli, ['--help']); print(r.output); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "train-texture" in out and "restore" in out
    assert out.split()[-1] == "False"


def test_a_command_runs_through_the_lazy_group(tmp_path):
    result = CliRunner().invoke(cli, ["info", "cork/regression"])
    assert result.exit_code == 0, result.output
    assert "method: regression" in result.output
    assert CliRunner().invoke(cli, ["nope"]).exit_code != 0


def test_package_functions_win_over_submodules_of_the_same_name():
    code = ("import inpaint, inpaint.restore, inpaint.train, inpaint.fill, sys; "
            "from inpaint.fill import fill; from inpaint.train import train; "
            "assert inpaint.fill is fill and inpaint.train is train, (inpaint.fill, inpaint.train); "
            "assert sys.modules['inpaint.fill'].SamplerConfig is inpaint.SamplerConfig")
    subprocess.run([sys.executable, "-c", code], check=True)
