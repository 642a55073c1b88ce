"""Drives headless Chromium against `aide serve` while a run writes nodes (see check-serve.sh).

Checks: the runs list shows the run; on the run's page the tree grows to --nodes nodes without a
reload (a marker set on `window` survives); the node opened before the growth stays open; no
JavaScript error (the page's own `data-error`, and the browser's console log at SEVERE). Then, with
--bench, starts that bench command and checks its page: the summary shows its task, the cases are
listed, and the count of done cases rises as cases finish, without a reload. Saves index.png,
run.png (and bench.png) in --out.
"""
import argparse
import json
import shlex
import subprocess
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def fail(message):
    print("FAIL " + message, file=sys.stderr)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--bench", help="an `aide bench` command (shell words) whose page is checked after the run's")
    args = parser.parse_args()

    options = Options()
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                 "--disable-extensions", "--disable-background-networking"]:
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        check(driver, args)
        if args.bench:
            check_bench(driver, args)
    finally:
        driver.quit()


def page_error(driver):
    error = driver.execute_script("return document.body ? document.body.dataset.error || null : null")
    severe = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
    if error:
        fail("the page's JavaScript failed: " + error)
    if severe:
        fail("the browser logged errors: " + json.dumps(severe)[:2000])


def watch(driver, script, first, target, deadline):
    """The values a page's counter (read by `script`) takes while it updates itself, from `first`
    until it reaches `target` or `deadline` passes: the page is a live view, so it is observed as it
    changes (every 0.2 s), checking for script errors each time."""
    values = [first]
    while values[-1] < target and time.time() < deadline:
        time.sleep(0.2)
        count = int(driver.execute_script(script))
        if count != values[-1]:
            values.append(count)
        page_error(driver)
    return values


def check(driver, args):
    deadline = time.time() + args.timeout
    wait = WebDriverWait(driver, args.timeout)

    driver.get(args.url)
    wait.until(lambda d: d.execute_script("return document.body.dataset.runs") not in (None, "0"))
    links = driver.find_elements(By.CSS_SELECTOR, "#runs a")
    if not links:
        fail("the runs list shows no run")
    driver.save_screenshot(args.out + "/index.png")
    page_error(driver)
    run_url = links[0].get_attribute("href")
    print("ok   the runs list shows " + links[0].text)

    # Open the run as soon as it has a node, before the search is done.
    driver.get(run_url)
    wait.until(lambda d: int(d.execute_script("return document.body.dataset.nodes || 0")) >= 1)
    first = int(driver.execute_script("return document.body.dataset.nodes"))
    if first >= args.nodes:
        fail("the run was already done (%d nodes) when its page opened: nothing to watch grow" % first)
    driver.execute_script("window.__noReload = true;")
    # Open the first node, as a user would, and remember what the panel shows.
    driver.find_element(By.CSS_SELECTOR, "#tree g.node[data-i='0']").click()
    opened = driver.find_element(By.CSS_SELECTOR, "#detail h3").text
    print("ok   the page opened with %d node(s); opened %r" % (first, opened))

    counts = watch(driver, "return document.body.dataset.nodes || 0", first, args.nodes, deadline)
    if counts[-1] < args.nodes:
        fail("the tree did not grow to %d nodes: %s" % (args.nodes, counts))
    if not driver.execute_script("return window.__noReload === true"):
        fail("the page was reloaded")
    still = driver.find_element(By.CSS_SELECTOR, "#detail h3").text
    if still != opened:
        fail("the opened node was lost: %r became %r" % (opened, still))
    if not driver.find_elements(By.CSS_SELECTOR, "#tree g.node.sel[data-i='0']"):
        fail("the opened node is no longer marked in the tree")
    drawn = len(driver.find_elements(By.CSS_SELECTOR, "#tree g.node"))
    if drawn != counts[-1]:
        fail("data-nodes says %d, the tree has %d" % (counts[-1], drawn))
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("var l = document.getElementById('live'); return l && l.dataset.state !== 'live' && l.dataset.state")
    )
    state = driver.execute_script("return document.getElementById('live').textContent")
    page_error(driver)
    driver.save_screenshot(args.out + "/run.png")
    print("ok   the tree grew %s without a reload; %r still open; status: %s; screenshots in %s"
          % (" -> ".join(map(str, counts)), opened, state, args.out))


def check_bench(driver, args):
    wait = WebDriverWait(driver, args.timeout)
    with open(args.out + "/bench.log", "w") as log:
        bench = subprocess.Popen(shlex.split(args.bench), stdout=log, stderr=subprocess.STDOUT)
    try:
        driver.get(args.url)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#benches a"))
        driver.get(driver.find_element(By.CSS_SELECTOR, "#benches a").get_attribute("href"))
        wait.until(lambda d: int(d.execute_script("return document.body.dataset.cases || 0")) > 0)
        cases = int(driver.execute_script("return document.body.dataset.cases"))
        first = int(driver.execute_script("return document.body.dataset.done"))
        if first >= cases:
            fail("the bench was already done (%d of %d cases) when its page opened" % (first, cases))
        driver.execute_script("window.__noReload = true;")
        rows = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#tasks tr") if r.find_elements(By.TAG_NAME, "td")]
        if not rows or not rows[0].startswith("house-prices"):
            fail("the bench's summary shows no task row: %r" % rows)
        print("ok   the bench page opened with %d of %d cases done; summary: %r" % (first, cases, rows[0]))
        done = watch(driver, "return document.body.dataset.done", first, cases, time.time() + args.timeout)
        if done[-1] < cases:
            fail("the bench page did not reach %d done cases: %s" % (cases, done))
        if not driver.execute_script("return window.__noReload === true"):
            fail("the bench page was reloaded")
        badges = [b.text for b in driver.find_elements(By.CSS_SELECTOR, "#cases td .badge")]
        if badges != ["finished"] * cases:
            fail("the cases are not all shown finished: %r" % badges)
        page_error(driver)
        driver.save_screenshot(args.out + "/bench.png")
        print("ok   the bench page went %s of %d cases done without a reload; cases: %s"
              % (" -> ".join(map(str, done)), cases, ", ".join(badges)))
    finally:
        if bench.wait(timeout=args.timeout) != 0:
            fail("the bench failed; see %s/bench.log" % args.out)


if __name__ == "__main__":
    main()
