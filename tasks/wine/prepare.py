"""Writes data/ (train.csv, test.csv, sample_submission.csv) and answers.csv for wine.

scikit-learn's wine data (178 wines from three cultivars, 13 chemical measurements), shipped with
scikit-learn, split 80/20 with a fixed seed, stratified. target is the cultivar: 0, 1 or 2.
"""
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split

here = Path(__file__).resolve().parent
frame = load_wine(as_frame=True).frame
frame.insert(0, "id", range(len(frame)))
train, test = train_test_split(frame, test_size=0.2, random_state=42, stratify=frame["target"])

data = here / "data"
data.mkdir(exist_ok=True)
train.to_csv(data / "train.csv", index=False)
test.drop(columns=["target"]).to_csv(data / "test.csv", index=False)
majority = int(train["target"].mode()[0])
pd.DataFrame({"id": test["id"], "target": majority}).to_csv(data / "sample_submission.csv", index=False)
test[["id", "target"]].to_csv(here / "answers.csv", index=False)
print(f"wine: {len(train)} train rows, {len(test)} test rows")
