"""The shared judge of one-number answers: right, a known mistake with its hint, or wrong."""

from helpers.exercises.common import judge_number


def judge(answer, **options):
    return judge_number(answer, 0.36, "Correct!", "Not {value}.", mistakes=[(0.64, "That is the score.")], **options)


def test_right_mistake_wrong_and_missing_answers(capsys):
    assert judge(0.36)
    assert not judge(0.64)
    assert not judge(0.5)
    assert not judge(None)
    assert capsys.readouterr().out.splitlines() == [
        "Correct!",
        "That is the score.",
        "Not 0.5.",
        "Replace None with your answer.",
    ]


def test_a_mistake_may_carry_its_own_tolerance(capsys):
    options = {"mistakes": [(100 * 0.36, "As a percentage.", 0.1)], "atol": 1e-3}
    assert not judge_number(36.05, 0.36, "Correct!", "Not {value}.", **options)
    assert not judge_number(36.5, 0.36, "Correct!", "Not {value}.", **options)
    assert capsys.readouterr().out.splitlines() == ["As a percentage.", "Not 36.5."]


def test_tolerance_decides_what_counts_as_equal(capsys):
    assert not judge(0.362)
    assert judge(0.362, atol=0.005)
    assert judge([[0.36]])  # a one-element array is one number
    capsys.readouterr()
