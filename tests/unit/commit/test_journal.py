from __future__ import annotations

from nnfv_agent.commit.journal import Journal


def test_no_journal_means_the_last_commit_finished(tmp_path):
    assert Journal(tmp_path / "j").read() is None


def test_cut_commit_tells_its_steps_and_which_side_is_durable(tmp_path):
    journal = Journal(tmp_path / "j")
    journal.begin(previous_xml="<old/>", target_xml="<new/>", steps=["createNF a", "startNF a"])
    journal.step_done(1, "createNF a")
    cut = Journal(tmp_path / "j").read()
    assert cut is not None
    assert cut.steps == ["createNF a", "startNF a"]
    assert cut.finished == ["createNF a"]
    assert cut.outcome("<old/>") == "old"
    assert cut.outcome("<new/>") == "new"


def test_cleared_journal_is_gone(tmp_path):
    journal = Journal(tmp_path / "j")
    journal.begin(previous_xml="", target_xml="<new/>", steps=[])
    journal.clear()
    assert not (tmp_path / "j").exists()
    assert journal.read() is None


def test_torn_intent_means_no_step_had_started(tmp_path):
    (tmp_path / "j").write_text('{"target": "ab')
    cut = Journal(tmp_path / "j").read()
    assert cut is not None and cut.steps == [] and cut.finished == []


def test_torn_last_step_line_keeps_the_steps_before_it(tmp_path):
    journal = Journal(tmp_path / "j")
    journal.begin(previous_xml="", target_xml="<n/>", steps=["a", "b"])
    journal.step_done(1, "a")
    with open(tmp_path / "j", "a") as fh:
        fh.write('{"done": 2, "st')
    assert Journal(tmp_path / "j").read().finished == ["a"]


def test_journal_file_is_private(tmp_path):
    Journal(tmp_path / "j").begin(previous_xml="", target_xml="<n/>", steps=[])
    assert (tmp_path / "j").stat().st_mode & 0o777 == 0o600


def test_digest_is_the_sha256_of_the_text_however_often_and_in_whatever_order_asked():
    import hashlib

    from nnfv_agent.commit.journal import digest

    texts = ["<a/>", "<b/>", "<c/>", "<a/>", "<b/>", "<a/>"]
    for text in texts:
        assert digest(text) == hashlib.sha256(text.encode()).hexdigest()
