"""The entry point's command table is the one registration of the commands, and ``inpaint --help`` needs no torch."""

import os
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

import inpaint
from inpaint.cli import COMMANDS, cli, load_command


def test_table_lists_every_command_with_its_own_short_help():
    assert sorted(COMMANDS) == cli.list_commands(None)
    for name, (_, short) in COMMANDS.items():
        command = load_command(name)
        assert isinstance(command, click.Command) and command.name == name, name
        assert cli.get_command(None, name) is command, name
        assert short == " ".join(command.help.split("\n\n")[0].split()), name


def test_help_lists_commands_without_importing_torch():
    code = ("import sys; from click.testing import CliRunner; from inpaint.cli import cli; "
            "r = CliRunner().invoke(cli, ['--help']); print(r.output); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "train-texture" in out and "restore" in out
    assert out.split()[-1] == "False"


def test_a_command_runs_through_the_lazy_group(tmp_path):
    result = CliRunner().invoke(cli, ["info", "cork/regression"])
    assert result.exit_code == 0, result.output
    assert "method: regression" in result.output
    assert CliRunner().invoke(cli, ["nope"]).exit_code != 0


def test_submodules_are_modules_and_the_package_shadows_none():
    code = ("import inpaint, inpaint.restore, inpaint.train, inpaint.fill, sys, types; "
            "from inpaint.fill import fill; from inpaint.train import train; "
            "assert inpaint.fill is sys.modules['inpaint.fill'] and inpaint.train is sys.modules['inpaint.train']; "
            "assert inpaint.fill.fill is fill and inpaint.train.train is train; "
            "assert sys.modules['inpaint.fill'].SamplerConfig is inpaint.SamplerConfig; "
            "clash = [n for n in inpaint.__all__ if isinstance(getattr(inpaint, n), types.ModuleType) is False "
            "and n in inpaint.PUBLIC_MODULES]; assert not clash, clash")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_importing_the_library_leaves_global_state_alone():
    code = ("import os, sys; import matplotlib; backend = matplotlib.get_backend(); "
            "import inpaint.report, inpaint.compare, inpaint.evaluate; "
            "assert matplotlib.get_backend() == backend, (backend, matplotlib.get_backend())")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "MPLBACKEND": "pdf"})


def test_only_the_application_draws_bars_or_reads_the_command_line():
    library = [p for p in Path(inpaint.__file__).parent.rglob("*.py") if "cli" not in p.relative_to(
        Path(inpaint.__file__).parent).parts]
    for path in library:
        text = path.read_text()
        for word in ("tqdm", "sys.argv", "os.environ", "matplotlib.use", "pyplot"):
            assert word not in text, f"{path.name} uses {word}"


def test_help_groups_every_command_once_by_task_and_version_names_the_distribution():
    from click.testing import CliRunner

    from inpaint.cli import COMMANDS, GROUPS, cli

    grouped = [name for _, names in GROUPS for name in names]
    assert sorted(grouped) == sorted(COMMANDS)
    result = CliRunner().invoke(cli, ["--help"])
    assert "Start here" in result.output and all(title + ":" in result.output for title, _ in GROUPS)
    version = CliRunner().invoke(cli, ["--version"], prog_name="inpaint")
    assert version.exit_code == 0 and "internal-inpaint" in version.output, version.output
