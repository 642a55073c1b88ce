"""Writes data/ (train.csv, test.csv, sample_submission.csv) and answers.csv for diabetes.

scikit-learn's diabetes data (442 patients, 10 standardised features, target: disease progression
one year later), shipped with scikit-learn, split 80/20 with a fixed seed.
"""
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

here = Path(__file__).resolve().parent
frame = load_diabetes(as_frame=True).frame
frame.insert(0, "id", range(len(frame)))
train, test = train_test_split(frame, test_size=0.2, random_state=42)

data = here / "data"
data.mkdir(exist_ok=True)
train.to_csv(data / "train.csv", index=False)
test.drop(columns=["target"]).to_csv(data / "test.csv", index=False)
pd.DataFrame({"id": test["id"], "target": train["target"].mean()}).to_csv(data / "sample_submission.csv", index=False)
test[["id", "target"]].to_csv(here / "answers.csv", index=False)
print(f"diabetes: {len(train)} train rows, {len(test)} test rows")
