"""Every citation resolves inside the repository: REFERENCES.md lists each seed the files cite, and
no tracked file points at the papers' folder outside a clone."""

import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
REFERENCES = ROOT / "REFERENCES.md"
OUTSIDE = ("../" + "shared", "shared/" + "seeds")          # spelt in two pieces so this file does not match
TEXT_SUFFIXES = {".py", ".md", ".ipynb", ".toml", ".txt", ".cfg", ".ini", ".yml", ".yaml", ".rst", ".json", ".sh"}


def tracked_text_files():
    try:
        names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        paths = [ROOT / n for n in names]
    except (OSError, subprocess.CalledProcessError):      # not a git checkout (an sdist): every file but out/
        paths = [p for p in ROOT.rglob("*") if ".git" not in p.parts and "out" not in p.parts]
    return [p for p in paths if p.is_file() and p.suffix in TEXT_SUFFIXES]


def test_no_tracked_file_points_outside_the_repository():
    offenders = []
    for path in tracked_text_files():
        if path == REFERENCES:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if any(s in line for s in OUTSIDE):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert offenders == [], "cite REFERENCES.md instead:\n" + "\n".join(offenders)


def test_every_cited_seed_has_an_entry_in_references():
    entries = set(re.findall(r"\*\*seed (\d{3})\*\*", REFERENCES.read_text(encoding="utf-8")))
    assert entries == {"000", "001", "002", "003", "004"}
    cited = {}
    for path in tracked_text_files():
        for n in re.findall(r"\bseeds? (\d{3})\b", path.read_text(encoding="utf-8", errors="replace")):
            cited.setdefault(n, str(path.relative_to(ROOT)))
    assert cited, "no 'seed 00N' citation found: the scan is broken"
    missing = {n: where for n, where in cited.items() if n not in entries}
    assert missing == {}, f"cited but not in REFERENCES.md (first file citing it): {missing}"


def test_every_paper_the_quantizers_name_has_an_entry():
    text = REFERENCES.read_text(encoding="utf-8")
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tinyquant" / "quant").glob("*.py"))
    for key in ("TTQ", "TWN", "XNOR-Net", "LSQ", "DoReFa", "ReSTE", "IR-Net", "BNN+", "Bi-Real", "FDA",
                "BinaryConnect", "BinaryNet"):
        assert key in code, f"{key} is no longer cited by tinyquant/quant: update this list"
        assert f"**{key}**" in text, f"REFERENCES.md has no entry for {key}"
