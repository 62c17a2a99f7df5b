"""Exercises of notebook 08 (your own data): padding, which files are left out, resuming."""

from helpers.exercises.common import as_number, judge_array, say

__all__ = [
    "PADDING_IMAGE_SIZE",
    "PADDING_POOLINGS",
    "check_padding",
    "MASK_FILES",
    "check_left_out",
    "RESUME_EPOCHS",
    "RESUME_DISCONNECTED_IN",
    "check_resume",
]

#: Exercise 1: an image of this (height, width) and a U-Net with this many poolings.
PADDING_IMAGE_SIZE = (500, 700)
PADDING_POOLINGS = 4

#: Exercise 2: four mask files and what they hold.
MASK_FILES = {
    "A": "A.png, 8-bit grey, values 0 and 255",
    "B": "B.jpg, 8-bit grey, 37 different values between 0 and 255",
    "C": "C.png, 8-bit grey, values 0, 1, 2, 3 (one id per nucleus)",
    "D": "D.png, RGB, black background and red membranes",
}

#: Exercise 3: training set to this many epochs; Colab disconnected during this epoch (1-based).
RESUME_EPOCHS = 12
RESUME_DISCONNECTED_IN = 8


def check_padding(answer):
    """Check the rows and columns added to PADDING_IMAGE_SIZE to make it divisible by 2**PADDING_POOLINGS."""
    return judge_array(
        answer,
        [12, 4],
        "Correct! 500 -> 512 and 700 -> 704, the next multiples of 2**4 = 16.",
        "Find the next multiple of 16 above 500 and above 700, and subtract.",
        shape_hints=[(None, "Give two numbers: [rows added, columns added].")],
        mistakes=[([512, 704], "Those are the padded sizes; give the number of pixels added.")],
    )


def check_left_out(answer):
    """Check which of MASK_FILES ``check_folder`` leaves out (a list of letters)."""
    if answer is None:
        return say(False, "Replace None with your answer, e.g. ['A', 'C'].")
    if isinstance(answer, str):
        answer = list(answer.replace(",", " ").split()) if len(answer) > 1 else [answer]
    letters = {str(letter).strip().upper() for letter in answer}
    if letters == {"B", "D"}:
        return say(
            True,
            "Correct! JPEG blurs mask values and a colour mask is ambiguous; label ids are "
            "read as foreground (with a warning), 0/255 is fine.",
        )
    if "C" in letters:
        return say(False, "C is used: every non-zero label becomes foreground, with a warning. Look again.")
    if "A" in letters:
        return say(False, "A is the course's own format (0 = background, 255 = structure).")
    return say(False, "One left-out mask was saved with lossy compression, one in colour.")


def check_resume(rows, start):
    """Check the rows in history.csv and the epoch (1-based) the rerun starts at."""
    rows_number, problem = as_number(rows)
    if problem:
        return say(False, problem + " (give two numbers: check_resume(rows, start))")
    start_number, problem = as_number(start)
    if problem:
        return say(False, problem + " (the second number: the epoch the rerun starts at)")
    if (rows_number, start_number) == (7, 8):
        return say(
            True,
            "Correct! Epochs 1-7 were saved; epoch 8 was in progress, so it is trained "
            "again: at most one epoch is lost.",
        )
    if rows_number == 8:
        return say(False, "Epoch 8 was not finished, so it has no row.")
    if start_number == 1:
        return say(False, "Without checkpoints it would start at 1; the run folder remembers 7 epochs.")
    return say(False, "Count the finished epochs before the disconnect; the next one is where it resumes.")
