"""The MSI: wixl compiles installer/certassist.wxs plus the harvested bundle; msibuild fixes what wixl cannot.

wixl (msitools 0.101) gaps handled here, each checked on the result:
- non-ASCII table strings are dropped (and a non-ASCII launch-condition message crashes wixl): such
  values go to wixl as ASCII tokens and are written back with msibuild under code page 936;
  ProductName (wixl keeps it only in the summary information) is written back the same way;
- ``Secure="yes"`` is ignored: those properties are added to SecureCustomProperties;
- property-setting custom actions get the no-impersonate bit, which only deferred actions may carry;
- Package/@Platform is ignored: ``wixl -a x64``;
- MajorUpgrade/@AllowSameVersionUpgrades is ignored: the Upgrade row that finds older versions gets
  msidbUpgradeAttributesVersionMaxInclusive, as WiX writes it;
- DirectorySearch/FileSearch under a Property crash wixl: they are taken out of the source and written as
  the AppSearch, DrLocator and Signature rows WiX would write.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from installer.winbuild.cache import Hasher, cache_root, prune, publish
from installer.winbuild.targets import Target
from installer.winbuild.wine import STANDIN_DLLS, check_tools

REPO = Path(__file__).resolve().parents[2]
WXS = REPO / "installer" / "certassist.wxs"
NATIVE_HOST = REPO / "installer" / "cn.certassist.bridge.json"  # the browser bridge's host manifest (a File)
NS = "{http://schemas.microsoft.com/wix/2006/wi}"
CODEPAGE = 936
PRODUCT_NAMESPACE = uuid.UUID("4e0b9f36-64a4-4f5a-9d8e-7c2b4a1f0c11")  # ProductCode = uuid5(this, target:version)
PLACEHOLDER = "NA8QX{:03d}"  # 8 characters, so wixl keeps a token as a valid short name
SUMMARY_ONLY = {("Product", "Name"), ("Package", "Description")}  # wixl keeps these in the summary
VERSION_MAX_INCLUSIVE = 0x200  # msidbUpgradeAttributesVersionMaxInclusive


def product_code(target: Target, version: str) -> str:
    return str(uuid.uuid5(PRODUCT_NAMESPACE, f"{target.name}:{version}")).upper()


@dataclass
class Table:
    name: str
    columns: List[str]
    keys: List[str]
    rows: List[List[str]]

    def key_values(self, row: List[str]) -> List[Tuple[str, str]]:
        return [(key, row[self.columns.index(key)]) for key in self.keys]


def read_table(msi: Path, name: str) -> Table:
    with tempfile.TemporaryDirectory() as scratch:  # msiinfo writes binary streams into ./<table>/
        command = ["msiinfo", "export", str(msi.resolve()), name]
        text = subprocess.run(command, capture_output=True, check=True, cwd=scratch).stdout
    lines = text.decode("utf-8").split("\r\n")
    columns = lines[0].split("\t")
    keys = lines[2].split("\t")[1:]
    rows = [line.split("\t") for line in lines[3:] if line]
    return Table(name, columns, keys, rows)


def table_names(msi: Path) -> List[str]:
    out = subprocess.run(["msiinfo", "tables", str(msi)], capture_output=True, text=True, check=True).stdout
    return [name for name in out.split() if not name.startswith("_")]


def _sql_text(value: str) -> str:
    if "'" in value:
        raise ValueError(f"msibuild SQL cannot carry a quote: {value!r}")
    return f"'{value}'"


def _update(msi: Path, table: Table, row: List[str], column: str, value: str) -> None:
    where = " AND ".join(f"`{k}`={_sql_text(v)}" for k, v in table.key_values(row))
    query = f"UPDATE `{table.name}` SET `{column}`={_sql_text(value)} WHERE {where}"  # noqa: S608 - quoted above
    subprocess.run(["msibuild", str(msi), "-q", query], check=True)


@dataclass(frozen=True)
class FileSearch:
    """<Property Id><DirectorySearch Path Depth><FileSearch Id Name/></DirectorySearch></Property>"""

    property: str
    signature: str
    file_name: str
    path: str
    depth: int


@dataclass
class Prepared:
    source: Path
    tokens: Dict[str, Tuple[str, Optional[str]]]  # token -> (text, ShortName)
    product_name: str
    secure: List[str]
    expected: List[str]  # every non-ASCII string the tables must hold
    same_version_upgrades: bool = False
    file_searches: List[FileSearch] = field(default_factory=list)


def _take_wixl_gaps(tree: ET.ElementTree[ET.Element], prepared: Prepared) -> None:
    """Remove what wixl cannot compile from the source, remembering what fix_tables must write instead."""
    for element in tree.iter(NS + "MajorUpgrade"):
        prepared.same_version_upgrades = element.attrib.pop("AllowSameVersionUpgrades", "no") == "yes"
    for prop in tree.iter(NS + "Property"):
        for search in prop.findall(NS + "DirectorySearch"):
            for found in search.findall(NS + "FileSearch"):
                prepared.file_searches.append(
                    FileSearch(prop.get("Id", ""), found.get("Id", ""), found.get("Name", ""), search.get("Path", ""),
                               int(search.get("Depth", "0")))
                )  # fmt: skip
            prop.remove(search)


def prepare_source(dest: Path) -> Prepared:
    """The WXS as wixl gets it: non-ASCII attribute values replaced by ASCII tokens."""
    ET.register_namespace("", NS.strip("{}"))
    tree = ET.parse(WXS)  # noqa: S314 - our own source file
    tokens: Dict[str, Tuple[str, Optional[str]]] = {}
    expected: List[str] = []
    product_name = ""
    secure: List[str] = []
    for element in tree.iter():
        tag = element.tag.replace(NS, "")
        if tag == "Product":
            product_name = element.get("Name", "")
        if tag == "Property" and element.get("Secure") == "yes":
            secure.append(element.get("Id", ""))
        for attribute, value in list(element.attrib.items()):
            if value.isascii():
                continue
            if (tag, attribute) in SUMMARY_ONLY:
                if tag == "Product":
                    expected.append(value)
                continue
            token = PLACEHOLDER.format(len(tokens))
            short = element.get("ShortName") if attribute == "Name" else None
            tokens[token] = (value, short)
            expected.append(value)
            element.set(attribute, token)
    prepared = Prepared(dest, tokens, product_name, secure, expected)
    _take_wixl_gaps(tree, prepared)
    tree.write(dest, encoding="utf-8", xml_declaration=True)
    return prepared


def fix_tables(msi: Path, prepared: Prepared) -> None:
    """What wixl could not write, written with msibuild (the database code page first)."""
    idt = msi.parent / "_ForceCodepage.idt"
    idt.write_bytes(f"\r\n\r\n{CODEPAGE}\t_ForceCodepage\r\n".encode("ascii"))
    subprocess.run(["msibuild", str(msi), "-i", str(idt)], check=True)
    pattern = re.compile("|".join(re.escape(t) for t in prepared.tokens) or r"(?!x)x")
    for name in table_names(msi):
        table = read_table(msi, name)
        for row in table.rows:
            for index, cell in enumerate(row):
                if not pattern.search(cell):
                    continue
                text, short = prepared.tokens.get(cell, (None, None))
                if text is not None and short:
                    value = f"{short}|{text}"  # DefaultDir / shortcut Name: "short|long"
                else:
                    value = pattern.sub(lambda m: prepared.tokens[m.group(0)][0], cell)
                _update(msi, table, row, table.columns[index], value)
    properties = read_table(msi, "Property")
    values = {row[0]: row[1] for row in properties.rows}
    for row in properties.rows:
        if row[0] == "ProductName":
            _update(msi, properties, row, "Value", prepared.product_name)
        if row[0] == "SecureCustomProperties":
            merged = [p for p in values["SecureCustomProperties"].split(";") if p]
            merged += [p for p in prepared.secure if p not in merged]
            _update(msi, properties, row, "Value", ";".join(merged))
    actions = read_table(msi, "CustomAction")
    for row in actions.rows:
        kind = int(row[actions.columns.index("Type")])
        if kind & 0x800 and not kind & 0x400:  # no-impersonate without in-script
            _update_int(msi, actions, row, "Type", kind & ~0x800)
    _fill_wixl_gaps(msi, prepared)


def _fill_wixl_gaps(msi: Path, prepared: Prepared) -> None:
    if prepared.same_version_upgrades:
        _upgrade_same_version(msi)
    if prepared.file_searches:
        _write_file_searches(msi, prepared.file_searches)


def _upgrade_same_version(msi: Path) -> None:
    """WiX's AllowSameVersionUpgrades: the row finding older versions includes its maximum (this version)."""
    upgrade = read_table(msi, "Upgrade")
    for row in upgrade.rows:
        action = row[upgrade.columns.index("ActionProperty")]
        if action != "WIX_UPGRADE_DETECTED":
            continue
        values = dict(zip(upgrade.columns, row))  # Attributes is part of the key: the row is written anew
        values["Attributes"] = str(int(values["Attributes"]) | VERSION_MAX_INCLUSIVE)
        given = {k: v for k, v in values.items() if v != ""}
        names = ", ".join(f"`{k}`" for k in given)
        cells = ", ".join(v if k == "Attributes" else _sql_text(v) for k, v in given.items())
        for query in (
            f"DELETE FROM `Upgrade` WHERE `ActionProperty`={_sql_text(action)}",  # noqa: S608 - quoted
            f"INSERT INTO `Upgrade` ({names}) VALUES ({cells})",  # noqa: S608 - quoted
        ):
            subprocess.run(["msibuild", str(msi), "-q", query], check=True)


def _expand(text: str, defines: Dict[str, str]) -> str:
    """$(var.NAME) as the WiX preprocessor expands it (for what is taken out of the source before wixl)."""
    return re.sub(r"\$\(var\.(\w+)\)", lambda m: defines[m.group(1)], text)


def _idt(path: Path, columns: List[Tuple[str, str]], keys: List[str], rows: List[List[str]]) -> Path:
    """An MSI table export file (tab-separated: names, types, table name and keys, rows)."""
    lines = ["\t".join(c for c, _ in columns), "\t".join(t for _, t in columns), "\t".join([path.stem, *keys])]
    lines += ["\t".join(row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))
    return path


def _write_file_searches(msi: Path, searches: List[FileSearch]) -> None:
    signature = _idt(
        msi.parent / "Signature.idt",
        [("Signature", "s72"), ("FileName", "s255"), ("MinVersion", "S20"), ("MaxVersion", "S20"), ("MinSize", "I4"),
         ("MaxSize", "I4"), ("MinDate", "I4"), ("MaxDate", "I4"), ("Languages", "S255")],
        ["Signature"],
        [[s.signature, s.file_name, "", "", "", "", "", "", ""] for s in searches],
    )  # fmt: skip
    locator = _idt(
        msi.parent / "DrLocator.idt",
        [("Signature_", "s72"), ("Parent", "S72"), ("Path", "S255"), ("Depth", "I2")],
        ["Signature_", "Parent", "Path"],
        [[s.signature, "", s.path, str(s.depth)] for s in searches],
    )
    for table in (signature, locator):
        subprocess.run(["msibuild", str(msi), "-i", str(table)], check=True)
    for search in searches:
        values = f"{_sql_text(search.property)}, {_sql_text(search.signature)}"
        query = f"INSERT INTO `AppSearch` (`Property`, `Signature_`) VALUES ({values})"  # noqa: S608 - quoted
        subprocess.run(["msibuild", str(msi), "-q", query], check=True)


def _update_int(msi: Path, table: Table, row: List[str], column: str, value: int) -> None:
    where = " AND ".join(f"`{k}`={_sql_text(v)}" for k, v in table.key_values(row))
    query = f"UPDATE `{table.name}` SET `{column}`={value} WHERE {where}"  # noqa: S608 - quoted by _sql_text
    subprocess.run(["msibuild", str(msi), "-q", query], check=True)


def verify(msi: Path, prepared: Prepared) -> None:
    dump = "\n".join("\n".join("\t".join(r) for r in read_table(msi, n).rows) for n in table_names(msi))
    missing = [text for text in prepared.expected if text not in dump]
    leftover = [token for token in prepared.tokens if token in dump]
    if missing or leftover:
        raise RuntimeError(f"MSI strings not fixed: missing {missing}, tokens left {leftover}")
    if prepared.same_version_upgrades:
        upgrade = read_table(msi, "Upgrade")
        found = [r for r in upgrade.rows if r[upgrade.columns.index("ActionProperty")] == "WIX_UPGRADE_DETECTED"]
        if not found or not int(found[0][upgrade.columns.index("Attributes")]) & VERSION_MAX_INCLUSIVE:
            raise RuntimeError("the Upgrade table does not treat the same version as an upgrade")
    searches = {(r[0], r[1]) for r in read_table(msi, "AppSearch").rows} if prepared.file_searches else set()
    missing_searches = [s for s in prepared.file_searches if (s.property, s.signature) not in searches]
    if missing_searches:
        raise RuntimeError(f"AppSearch rows missing: {missing_searches}")
    files = read_table(msi, "File")
    names = [row[files.columns.index("FileName")].split("|")[-1].lower() for row in files.rows]
    shipped = sorted(set(names) & set(STANDIN_DLLS))
    if shipped:
        raise RuntimeError(f"the MSI would install Wine stand-in DLLs: {shipped}")


def msi_key(target: Target, bundle: Path, version: str) -> str:
    hasher = Hasher("msi-2").text(target.name).text(bundle.name).text(version)
    return hasher.file(WXS).file(NATIVE_HOST).file(Path(__file__)).hexdigest()


def build_msi(target: Target, bundle: Path, version: str) -> Path:
    """The cached MSI for this bundle and version (built when missing). ``bundle`` is a bundle cache entry."""
    check_tools(["wixl", "wixl-heat", "msibuild", "msiinfo"])
    parent = cache_root() / "msi"
    final = parent / f"{target.name}-{msi_key(target, bundle, version)}" / target.msi_name(version)
    if final.exists():
        return final
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".msi-", dir=parent) as scratch:
        work = Path(scratch)
        (work / "bundle").symlink_to(bundle / "certassist", target_is_directory=True)
        shutil.copy2(bundle / "certassist.ico", work / "certassist.ico")
        shutil.copy2(NATIVE_HOST, work / NATIVE_HOST.name)
        prepared = prepare_source(work / "certassist.wxs")
        files = sorted(str(p.relative_to(work)) for p in (work / "bundle").rglob("*") if p.is_file())
        harvest = subprocess.run(
            [
                "wixl-heat",
                "-p",
                "bundle/",
                "--directory-ref",
                "INSTALLDIR",
                "--component-group",
                "BundleFiles",
                "--var",
                "var.BundleDir",
                *(["--win64"] if target.wixl_arch == "x64" else []),
            ],
            input="\n".join(files) + "\n",
            capture_output=True,
            text=True,
            cwd=work,
            check=True,
        ).stdout
        (work / "files.wxs").write_text(harvest, encoding="utf-8")
        out = work / "out" / target.msi_name(version)
        out.parent.mkdir()
        win64 = target.wixl_arch == "x64"
        defines = {
            "Version": version,
            "ProductCode": product_code(target, version),
            "BundleDir": "bundle",
            "IconFile": "certassist.ico",
            "Win64": "yes" if win64 else "no",
            "ProgramFilesFolder": "ProgramFiles64Folder" if win64 else "ProgramFilesFolder",
            "SystemFolder": "System64Folder" if win64 else "SystemFolder",
        }
        prepared.file_searches = [replace(f, path=_expand(f.path, defines)) for f in prepared.file_searches]
        command = ["wixl", "-a", target.wixl_arch, "-o", str(out)]
        for name, value in defines.items():
            command += ["-D", f"{name}={value}"]
        result = subprocess.run(
            [*command, "certassist.wxs", "files.wxs"], cwd=work, capture_output=True, text=True, check=False
        )
        if result.returncode != 0 or not out.exists():
            raise RuntimeError(f"wixl failed (exit {result.returncode}): {result.stderr[-2000:]}")
        fix_tables(out, prepared)
        verify(out, prepared)
        publish(out.parent, final.parent)
    prune(parent)
    return final
