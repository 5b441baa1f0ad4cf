"""The Lambda packager: contents, byte-for-byte determinism, rebuild-on-change, platform wheels, bad input."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest

from scripts.cli import REPO_ROOT
from scripts.deploy import package

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lambdas"
ELF_MACHINE = {"arm64": 183, "x86_64": 62}  # e_machine values: EM_AARCH64, EM_X86_64


@pytest.fixture
def functions(tmp_path: Path) -> Path:
    target = tmp_path / "lambdas"
    shutil.copytree(FIXTURES, target)
    return target


@pytest.fixture(scope="module")
def deps_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deps-cache")


def build(functions: Path, out: Path, cache: Path, arch: str = "arm64") -> dict[str, package.Built]:
    return {b.function: b for b in package.build(functions, out, arch, cache_dir=cache)}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_zip_holds_handler_library_and_pinned_deps_but_no_boto3_or_bytecode(
    functions: Path, tmp_path: Path, deps_cache: Path
) -> None:
    (functions / "hello" / "__pycache__").mkdir()
    (functions / "hello" / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"junk")
    built = build(functions, tmp_path / "out", deps_cache)

    hello = zipfile.ZipFile(built["hello"].zip_path).namelist()
    assert "handler.py" in hello
    assert "imgpipe/__init__.py" in hello
    assert not [n for n in hello if n.endswith(".pyc") or "__pycache__" in n]

    with_deps = zipfile.ZipFile(built["with_deps"].zip_path).namelist()
    assert "wrapt/__init__.py" in with_deps
    assert "requirements.txt" not in with_deps
    assert not [n for n in with_deps if n.split("/")[0] in ("boto3", "botocore", "bin")]


def test_rebuild_from_same_inputs_is_byte_identical(functions: Path, tmp_path: Path, deps_cache: Path) -> None:
    first = build(functions, tmp_path / "a", deps_cache)
    second = build(functions, tmp_path / "b", deps_cache)
    for name in first:
        assert sha(first[name].zip_path) == sha(second[name].zip_path), name
        assert first[name].sha256_hex == second[name].sha256_hex
    for info in zipfile.ZipFile(first["with_deps"].zip_path).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
    names = zipfile.ZipFile(first["with_deps"].zip_path).namelist()
    assert names == sorted(names)


def test_only_changed_functions_are_rebuilt(functions: Path, tmp_path: Path, deps_cache: Path) -> None:
    out = tmp_path / "out"
    first = build(functions, out, deps_cache)
    assert all(b.rebuilt for b in first.values())
    mtime = first["with_deps"].zip_path.stat().st_mtime_ns

    again = build(functions, out, deps_cache)
    assert not any(b.rebuilt for b in again.values())
    assert first["with_deps"].zip_path.stat().st_mtime_ns == mtime

    (functions / "hello" / "handler.py").write_text("def handler(event, context):\n    return 2\n")
    changed = build(functions, out, deps_cache)
    assert changed["hello"].rebuilt and not changed["with_deps"].rebuilt
    assert changed["hello"].sha256_hex != first["hello"].sha256_hex


def test_library_change_rebuilds_every_function(functions: Path, tmp_path: Path, deps_cache: Path) -> None:
    library = tmp_path / "imgpipe"
    library.mkdir()
    (library / "__init__.py").write_text("")
    out = tmp_path / "out"
    package.build(functions, out, "arm64", library_dir=library, cache_dir=deps_cache)
    (library / "retention.py").write_text("DAYS = 7\n")
    rebuilt = {b.function: b for b in package.build(functions, out, "arm64", library_dir=library, cache_dir=deps_cache)}
    assert all(b.rebuilt for b in rebuilt.values())
    assert "imgpipe/retention.py" in zipfile.ZipFile(rebuilt["hello"].zip_path).namelist()


@pytest.mark.parametrize("arch", ["arm64", "x86_64"])
def test_compiled_dependencies_match_the_lambda_architecture(
    arch: str, functions: Path, tmp_path: Path, deps_cache: Path
) -> None:
    built = build(functions, tmp_path / arch, deps_cache, arch)
    with zipfile.ZipFile(built["with_deps"].zip_path) as archive:
        shared_objects = [n for n in archive.namelist() if n.endswith(".so")]
        assert shared_objects, "wrapt ships a compiled extension"
        for name in shared_objects:
            assert "cpython-312" in name
            header = archive.read(name)[:20]
            assert header[:4] == b"\x7fELF"
            assert int.from_bytes(header[18:20], "little") == ELF_MACHINE[arch], name


def test_manifest_records_terraform_source_code_hash(functions: Path, tmp_path: Path, deps_cache: Path) -> None:
    import base64
    import json

    out = tmp_path / "out"
    built = build(functions, out, deps_cache)
    manifest = json.loads((out / "manifest.json").read_text())
    digest = hashlib.sha256(built["hello"].zip_path.read_bytes()).digest()
    assert manifest["hello"]["zip"] == built["hello"].zip_path.name
    assert manifest["hello"]["source_code_hash"] == base64.b64encode(digest).decode()
    assert manifest["hello"]["arch"] == "arm64"
    assert manifest["hello"]["version"] == package.release_version()

    shutil.rmtree(functions / "hello")
    build(functions, out, deps_cache)
    assert "hello" not in json.loads((out / "manifest.json").read_text())
    assert not list(out.glob("hello*.zip"))


def test_zips_are_named_with_the_release_and_their_content(functions: Path, tmp_path: Path, deps_cache: Path) -> None:
    out = tmp_path / "out"
    first = {b.function: b for b in package.build(functions, out, "arm64", cache_dir=deps_cache, version="1.2.3")}
    hello = first["hello"]
    assert hello.zip_path.name == f"hello-1.2.3-{hello.sha256_hex[:12]}.zip"
    assert sorted(p.name for p in out.glob("*.zip")) == sorted(b.zip_path.name for b in first.values())

    # A new release renames every zip (same bytes) and leaves no zip of the old one behind.
    second = {b.function: b for b in package.build(functions, out, "arm64", cache_dir=deps_cache, version="1.3.0")}
    assert second["hello"].zip_path.name == f"hello-1.3.0-{hello.sha256_hex[:12]}.zip"
    assert second["hello"].sha256_hex == hello.sha256_hex
    assert not list(out.glob("*-1.2.3-*.zip"))

    # A changed function gets a new content hash in its name; the other keeps its zip.
    (functions / "hello" / "handler.py").write_text("def handler(event, context):\n    return 2\n")
    third = {b.function: b for b in package.build(functions, out, "arm64", cache_dir=deps_cache, version="1.3.0")}
    assert third["hello"].zip_path.name != second["hello"].zip_path.name
    assert third["with_deps"].zip_path == second["with_deps"].zip_path and not third["with_deps"].rebuilt
    assert len(list(out.glob("hello-*.zip"))) == 1


@pytest.mark.parametrize("version", ["1.2", "v1.2.3", "01.2.3", "1.2.3 ", ""])
def test_a_version_that_is_not_semantic_is_refused(version: str, tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f'[project]\nname = "x"\nversion = "{version}"\n')
    with pytest.raises(package.PackageError, match="is not a semantic version"):
        package.release_version(pyproject)


def test_the_release_is_the_project_version() -> None:
    import tomllib

    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert package.release_version() == declared


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("wrapt>=2", "not an exact pin"),
        ("wrapt", "not an exact pin"),
        ("wrapt==2.5.1", "does not match requirements/lambda.lock"),
        ("left-pad==1.0", "not in requirements/lambda.lock"),
        ("boto3==1.40.0", "provided by the Lambda runtime"),
    ],
)
def test_bad_requirements_are_refused_before_anything_is_written(
    line: str, message: str, functions: Path, tmp_path: Path, deps_cache: Path
) -> None:
    (functions / "with_deps" / "requirements.txt").write_text(line + "\n")
    out = tmp_path / "out"
    with pytest.raises(package.PackageError, match=message):
        build(functions, out, deps_cache)
    assert not list(out.glob("*.zip"))


def test_unknown_architecture_is_refused(functions: Path, tmp_path: Path) -> None:
    with pytest.raises(package.PackageError, match="unknown architecture"):
        package.build(functions, tmp_path, "sparc")


def test_folders_without_handler_are_not_functions(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.md").write_text("x")
    assert package.discover(tmp_path) == []


def test_unused_bundled_assets_are_left_out(tmp_path: Path) -> None:
    assets = tmp_path / "aws_lambda_powertools" / "event_handler" / "openapi" / "swagger_ui"
    assets.mkdir(parents=True)
    for name in ("__init__.py", "html.py", "swagger-ui-bundle.min.js", "swagger-ui.min.css"):
        (assets / name).write_text("x")
    kept = sorted(p.name for p in package.iter_files(tmp_path))
    assert kept == ["__init__.py", "html.py"]  # the modules stay importable; only the static files go


LAMBDA_LOCK = Path(__file__).resolve().parents[2] / "requirements" / "lambda.lock"


def test_the_lambda_lock_records_a_hash_for_every_pin() -> None:
    locked = package.read_locked(LAMBDA_LOCK)
    assert locked and all(len(sums) >= 1 for _, sums in locked.values())
    assert not set(locked) & package.PROVIDED_BY_RUNTIME


def test_a_wheel_whose_bytes_differ_from_the_lock_is_refused(functions: Path, tmp_path: Path) -> None:
    # Every sum recorded for wrapt replaced: uv finds the real wheel on the index and must refuse it.
    text = LAMBDA_LOCK.read_text()
    tampered, in_wrapt = [], False
    for line in text.splitlines():
        if line and not line.startswith(" "):
            in_wrapt = line.startswith("wrapt==")
        if in_wrapt and "--hash=sha256:" in line:
            line = (
                line.split("--hash=sha256:")[0] + "--hash=sha256:" + "0" * 64 + (" \\" if line.endswith("\\") else "")
            )
        tampered.append(line)
    lock = tmp_path / "lambda.lock"
    lock.write_text("\n".join(tampered) + "\n")
    with pytest.raises(package.PackageError, match=r"(?i)hash"):
        package.build(functions, tmp_path / "out", "arm64", lock_file=lock, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "out").glob("*.zip"))  # no function packaged, not even those without wrapt


def test_a_lock_without_hashes_is_refused_before_anything_is_fetched(functions: Path, tmp_path: Path) -> None:
    lock = tmp_path / "lambda.lock"
    lock.write_text("".join(f"{n}=={v}\n" for n, v in package.read_pins(LAMBDA_LOCK).items()))
    with pytest.raises(package.PackageError, match="records no hash for wrapt: run make lock"):
        package.build(functions, tmp_path / "out", "arm64", lock_file=lock, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("wrapt>=2.5", "not an exact pin"),
        ("wrapt==2.5.2 --hash=md5:abc", "--hash=sha256"),
        ("wrapt==2.5.2 --hash=sha256:abc", "--hash=sha256"),
        ("wrapt==2.5.2 --index-url=https://example.com", "--hash=sha256"),
    ],
)
def test_lock_lines_are_read_strictly(tmp_path: Path, line: str, error: str) -> None:
    lock = tmp_path / "lambda.lock"
    lock.write_text(line + "\n")
    with pytest.raises(package.PackageError, match=error):
        package.read_locked(lock)


def test_a_dependency_cache_filled_meanwhile_by_another_build_is_taken_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two builds (parallel test workers, two `make package`) install the same pins at once: the second to
    finish finds the folder taken, keeps the first one's and leaves no half-built folder behind."""
    import subprocess

    cache, pins = tmp_path / "cache", {"pillow": "12.0.0"}
    hashes: dict[str, tuple[str, ...]] = {"pillow": ("0" * 64,)}
    other_builds_folder: list[Path] = []

    def pip(cmd: list[str], **_kwargs: object) -> subprocess.CompletedProcess[str]:
        (Path(cmd[cmd.index("--target") + 1]) / "ours.txt").write_text("installed by this build")
        for finished in other_builds_folder:  # the other build finishes while this one installs
            finished.mkdir()
            (finished / "theirs.txt").write_text("installed by the other build")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(subprocess, "run", pip)  # the uv pip install package runs
    alone = package.install_dependencies(pins, "arm64", cache, hashes)  # where the pins' folder goes
    assert alone is not None and (alone / "ours.txt").is_file()
    shutil.rmtree(alone)

    other_builds_folder.append(alone)
    found = package.install_dependencies(pins, "arm64", cache, hashes)
    assert found == alone and (found / "theirs.txt").is_file() and not (found / "ours.txt").exists()
    assert [p.name for p in cache.iterdir()] == [found.name]  # this build's staging folder is gone
