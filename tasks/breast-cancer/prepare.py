"""Writes data/ (train.csv, test.csv, sample_submission.csv) and answers.csv for breast-cancer.

scikit-learn's Wisconsin breast cancer data (569 tumours, 30 features), shipped with scikit-learn,
split 80/20 with a fixed seed, stratified. target is 1 for benign, 0 for malignant.
"""
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

here = Path(__file__).resolve().parent
frame = load_breast_cancer(as_frame=True).frame
frame.insert(0, "id", range(len(frame)))
train, test = train_test_split(frame, test_size=0.2, random_state=42, stratify=frame["target"])

data = here / "data"
data.mkdir(exist_ok=True)
train.to_csv(data / "train.csv", index=False)
test.drop(columns=["target"]).to_csv(data / "test.csv", index=False)
pd.DataFrame({"id": test["id"], "target": 0.5}).to_csv(data / "sample_submission.csv", index=False)
test[["id", "target"]].to_csv(here / "answers.csv", index=False)
print(f"breast-cancer: {len(train)} train rows, {len(test)} test rows")
