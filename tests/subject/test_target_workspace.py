"""The workspace copy: what is left out, the size limit, sparse files, links, clones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.subject.workspace import WorkspaceTooLarge
from harness.subject.workspace import clone
from harness.subject.workspace import fresh_copy


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_what_is_not_the_app_stays_out(tmp_path: Path) -> None:
    app = _tree(
        tmp_path / "src" / "shop",
        {
            "app.py": "",
            "env/lib.py": "",  # a folder named env, but no virtualenv: the app's
            "pyenv311/pyvenv.cfg": "home = /usr",  # a virtualenv by any name
            "pyenv311/lib/site.py": "",
            "tools/.venv-x/pyvenv.cfg": "",
            ".git/HEAD": "",
            ".hg/store": "",
            "node_modules/left/index.js": "",
            ".mypy_cache/x.json": "",
            ".ruff_cache/x": "",
            ".tox/py/x": "",
            "__pycache__/app.cpython-311.pyc": "",
            "templates/base.html": "",
        },
    )
    copy = fresh_copy(app, tmp_path / "run")
    assert _files(copy) == ["app.py", "env/lib.py", "templates/base.html"]


def test_past_the_limit_nothing_is_copied_and_the_error_says_how_to_raise_it(
    tmp_path: Path,
) -> None:
    app = _tree(tmp_path / "src" / "big", {"app.py": "", "data/dump.sql": "x" * 5000})
    with pytest.raises(WorkspaceTooLarge) as caught:
        fresh_copy(app, tmp_path / "run", limit_bytes=4096)
    message = str(caught.value)
    assert "past the limit of 4.0 KiB" in message
    assert "data/dump.sql (4.9 KiB)" in message
    assert "--posthog-workspace-limit" in message
    assert "POSTHOG_VERIFY_WORKSPACE_LIMIT" in message
    assert not (tmp_path / "run").exists()
    # Under the limit, the same tree copies.
    assert _files(fresh_copy(app, tmp_path / "run", limit_bytes=8192)) == [
        "app.py",
        "data/dump.sql",
    ]


def test_a_ten_gigabyte_sparse_file_is_copied_sparse(tmp_path: Path) -> None:
    app = _tree(tmp_path / "src" / "sparse", {"app.py": ""})
    size = 10 * 1024**3
    with (app / "disk.img").open("wb") as handle:
        handle.write(b"head")
        handle.seek(size - 4)
        handle.write(b"tail")
    if (app / "disk.img").stat().st_blocks * 512 >= size:
        pytest.fail("this filesystem does not keep holes: the test cannot prove anything")
    copy = fresh_copy(app, tmp_path / "run")  # the default limit is 1 GiB
    copied = copy / "disk.img"
    assert copied.stat().st_size == size
    assert copied.stat().st_blocks * 512 < 1024**2
    with copied.open("rb") as handle:
        assert handle.read(4) == b"head"
        handle.seek(size - 4)
        assert handle.read() == b"tail"


def test_links_are_copied_as_links_and_never_followed(tmp_path: Path) -> None:
    outside = _tree(tmp_path / "outside", {"secret.txt": "s" * 10_000})
    app = _tree(tmp_path / "src" / "linky", {"app.py": "", "real.txt": "r"})
    (app / "to_file").symlink_to(outside / "secret.txt")
    (app / "to_dir").symlink_to(outside)
    (app / "relative").symlink_to("real.txt")
    os.mkfifo(app / "pipe")  # opening it would block the copy forever
    copy = fresh_copy(app, tmp_path / "run", limit_bytes=4096)  # the outside is not counted
    assert (copy / "to_file").readlink() == outside / "secret.txt"
    assert (copy / "to_dir").is_symlink()
    assert (copy / "relative").read_text() == "r"
    assert not (copy / "pipe").exists()


def test_a_clone_shares_code_and_copies_data(tmp_path: Path) -> None:
    app = _tree(tmp_path / "src" / "shop", {"app.py": "x = 1", "app.db": "rows", "t/a.html": ""})
    first = fresh_copy(app, tmp_path / "run")
    second = clone(first, tmp_path / "noenv" / "shop")
    assert (second / "app.py").stat().st_ino == (first / "app.py").stat().st_ino
    assert (second / "t" / "a.html").samefile(first / "t" / "a.html")
    assert (second / "app.db").stat().st_ino != (first / "app.db").stat().st_ino
    (second / "app.db").write_text("written by the second boot")
    assert (first / "app.db").read_text() == "rows"
    assert (app / "app.py").stat().st_ino != (first / "app.py").stat().st_ino  # never the user's


def test_a_million_empty_files_do_not_pass_for_an_empty_tree(tmp_path: Path) -> None:
    app = _tree(tmp_path / "src" / "many", {f"f{i}.txt": "" for i in range(40)})
    with pytest.raises(WorkspaceTooLarge, match=r"past the limit of 16\.0 KiB"):
        fresh_copy(app, tmp_path / "run", limit_bytes=16 * 1024)  # 40 entries of 512 B


def test_where_hard_links_fail_the_clone_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _tree(tmp_path / "src" / "shop", {"app.py": "x = 1"})
    first = fresh_copy(app, tmp_path / "run")

    def refuse(self: Path, target: Path) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(Path, "hardlink_to", refuse)
    second = clone(first, tmp_path / "noenv" / "shop")
    assert (second / "app.py").read_text() == "x = 1"
    assert not (second / "app.py").samefile(first / "app.py")
