"""Writes data/ (train.csv, test.csv, sample_submission.csv, data_description.txt) and answers.csv
for house-prices.

The source is Kaggle's "House Prices - Advanced Regression Techniques" train.csv (1460 houses with
their SalePrice), read from $AIDE_SHARED_DATASETS/house_prices/ or else from
../../../shared/datasets/house_prices/ (the shared folder beside the repository). Kaggle's own test
set has no prices, so its train.csv is split 80/20 with a fixed seed. Rows are copied as text with
the csv module, so values such as "NA" reach the scripts exactly as Kaggle wrote them.
The data is written only into the git-ignored data/ folder and answers.csv.
"""
import csv
import os
import random
import shutil
import statistics
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
shared = Path(os.environ.get("AIDE_SHARED_DATASETS") or here / ".." / ".." / ".." / "shared" / "datasets")
source = shared / "house_prices"
if not (source / "train.csv").is_file():
    sys.exit(f"house-prices: {source / 'train.csv'} not found; set AIDE_SHARED_DATASETS to the folder holding house_prices/")

with open(source / "train.csv", newline="") as f:
    reader = csv.reader(f)
    header = next(reader)
    rows = list(reader)
id_index, price_index = header.index("Id"), header.index("SalePrice")

random.Random(42).shuffle(rows)
cut = int(len(rows) * 0.8)
train = sorted(rows[:cut], key=lambda r: int(r[id_index]))
test = sorted(rows[cut:], key=lambda r: int(r[id_index]))

data = here / "data"
data.mkdir(exist_ok=True)
with open(data / "train.csv", "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows([header] + train)
test_header = [c for i, c in enumerate(header) if i != price_index]
with open(data / "test.csv", "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows(
        [test_header] + [[v for i, v in enumerate(r) if i != price_index] for r in test])
median = statistics.median(float(r[price_index]) for r in train)
with open(data / "sample_submission.csv", "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows([["Id", "SalePrice"]] + [[r[id_index], median] for r in test])
with open(here / "answers.csv", "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows([["Id", "SalePrice"]] + [[r[id_index], r[price_index]] for r in test])
if (source / "data_description.txt").is_file():
    shutil.copyfile(source / "data_description.txt", data / "data_description.txt")
print(f"house-prices: {len(train)} train rows, {len(test)} test rows")
