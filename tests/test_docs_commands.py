"""Every ``dmft ...`` command shown in a bash block of README.md and docs/ parses, names an installed
model (and tool), and passes its parameter checks, without running the work (a documented command
that fails at once is a defect users meet first)."""
import re
import shlex
from pathlib import Path

import pytest

from dmft import api, cli
from dmft.model import resolve
from dmft.registry import get_model
from dmft.simulation import SIMULATION_PARAMS

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def commands(path):
    """``dmft`` lines of the page's bash blocks (comments and continuation backslashes removed)."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", path.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith("dmft "):
                out.append(line)
    return out


CASES = [(p.relative_to(ROOT).as_posix(), c) for p in PAGES for c in commands(p)]


def test_the_pages_show_commands():
    assert len(CASES) >= 30


@pytest.mark.parametrize("page, line", CASES, ids=[f"{p}:{c[:60]}" for p, c in CASES])
def test_documented_command_is_valid(page, line, monkeypatch):
    monkeypatch.chdir(ROOT)
    argv = shlex.split(line)[1:]
    try:
        args = cli.build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{page}: does not parse: {line}")
    if args.verb == "tool":
        tool = get_model(args.model).tools[args.name]
        resolve(tool.parameters, api._merge_config(args.model, args.config, cli._key_values(args.params)), line)
    elif hasattr(args, "params"):
        cli._model_from_config(args)
        given = cli._key_values(args.params)
        if args.verb == "simulate":
            resolve(SIMULATION_PARAMS + get_model(args.model).parameters,
                    api._merge_config(args.model, args.config, given), line)
        elif args.verb == "sweep":
            get_model(args.model)
        else:
            api.check_params(args.model, args.config, **given)
