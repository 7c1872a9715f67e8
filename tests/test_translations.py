"""Every label on the screens has a Hindi translation, and the compiled catalogue is current."""

import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parent.parent / "nirantar" / "locale" / "hi" / "LC_MESSAGES"


def test_every_label_is_translated():
    po = (LOCALE / "django.po").read_text(encoding="utf-8")
    entries = re.findall(r'msgid ((?:".*"\n)+)msgstr ((?:".*"\n)+)', po)
    untranslated = [mid for mid, mstr in entries if mid.strip() != '""' and mstr.strip() == '""']
    assert not untranslated
    assert "#, fuzzy" not in po, "a guessed translation is not used until a person confirms it"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt is not installed")
def test_the_compiled_catalogue_matches_the_translations(tmp_path):
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(LOCALE / "django.po")], check=True)
    with fresh.open("rb") as a, (LOCALE / "django.mo").open("rb") as b:
        assert gettext.GNUTranslations(a)._catalog == gettext.GNUTranslations(b)._catalog, (
            "run `make messages` after editing django.po"
        )
