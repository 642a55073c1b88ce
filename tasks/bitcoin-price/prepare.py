"""Writes data/ (train.csv, test.csv, sample_submission.csv) and answers.csv for bitcoin-price.

The source is aideml's example task bitcoin_price: BTC-USD.csv, 500 weekly rows (Date, Open, High,
Low, Close, Adj Close, Volume) from 2014-09-15 on, read from $AIDE_SHARED_DATASETS/bitcoin_price/ or
else from ../../../shared/datasets/bitcoin_price/ (the shared folder beside the repository). A
forecast is judged on the future, so the split is by time, not at random: the last 52 weeks are the
test set, of which test.csv gives only the dates; answers.csv holds their closing prices. Rows are
copied as text with the csv module. The data is written only into the git-ignored data/ folder and
answers.csv.
"""
import csv
import os
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
shared = Path(os.environ.get("AIDE_SHARED_DATASETS") or here / ".." / ".." / ".." / "shared" / "datasets")
source = shared / "bitcoin_price" / "BTC-USD.csv"
if not source.is_file():
    sys.exit(f"bitcoin-price: {source} not found; set AIDE_SHARED_DATASETS to the folder holding bitcoin_price/")

with open(source, newline="") as f:
    reader = csv.reader(f)
    header = next(reader)
    rows = sorted(reader, key=lambda r: r[0])
date_index, close_index = header.index("Date"), header.index("Close")
horizon = 52
train, test = rows[:-horizon], rows[-horizon:]

data = here / "data"
data.mkdir(exist_ok=True)
with open(data / "train.csv", "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows([header] + train)
with open(data / "test.csv", "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows([["Date"]] + [[r[date_index]] for r in test])
last_close = train[-1][close_index]
with open(data / "sample_submission.csv", "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows([["Date", "Close"]] + [[r[date_index], last_close] for r in test])
with open(here / "answers.csv", "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows([["Date", "Close"]] + [[r[date_index], r[close_index]] for r in test])
print(f"bitcoin-price: {len(train)} train weeks, {len(test)} test weeks (from {test[0][date_index]})")
