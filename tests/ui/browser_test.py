"""The web UI in a real browser (headless chromium through selenium), against
a `kairos dev` on a copy of examples/ and a `kairos server` with API tokens.

Usage: browser_test.py DEV_URL DAGS_DIR SERVER_URL TOKEN SCREENSHOTS_DIR

SERVER_URL is https, the browser's HOME holds its client certificate and the
CA, and a policy lets chromium send the certificate (tests/ui_browser.sh).

Every page is loaded and checked for what it should show and for no console
errors; a run is triggered from the form and watched turning green on the grid
without a reload (the page's event stream); a task is cleared through the
confirmation and runs again; a log is opened; a DAG file is changed and the
two versions' diff shown; over mutual TLS, with a team's client certificate,
the login works with a token and a wrong one is refused, and the pages show
only the team's DAGs and no action its role lacks. A screenshot of each page
is kept."""

import json
import os
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

DEV, DAGS, SERVER, TOKEN, SHOTS = sys.argv[1:6]
WAIT = 60
# The tasks of examples/python_callables.yml.
TASKS = ("produce", "check_positive", "consume")


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("KAIROS_CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = os.environ.get("KAIROS_CHROMEDRIVER", "/usr/bin/chromedriver")
    return webdriver.Chrome(service=Service(driver), options=options)


def until(what, check, within=WAIT):
    """Polls `check` until it returns something true; its value."""
    deadline = time.time() + within
    last = None
    while time.time() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as e:  # the page is still drawing
            last = e
        time.sleep(0.2)
    raise AssertionError("%s did not happen within %d s (last error: %s)" % (what, within, last))


def fresh(read, tries=5):
    """`read()`, looked at again if the page redrew the element it found
    (a stale element is a redraw, not an answer)."""
    for _ in range(tries - 1):
        try:
            return read()
        except StaleElementReferenceException:
            time.sleep(0.1)
    return read()


def api(base, path, body=None, method=None):
    request = urllib.request.Request(
        base + "/api/v1" + path, method=method or ("POST" if body is not None else "GET"),
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read()
    return json.loads(text) if text else None


class Page:
    def __init__(self, driver, base):
        self.d = driver
        self.base = base

    def open(self, path, shot):
        self.d.get(self.base + path)
        until("the page %s drew" % path, lambda: "Loading" not in self.main().text)
        self.shot = shot
        return self

    def main(self):
        return self.d.find_element(By.ID, "main")

    def text(self):
        return self.main().text

    def has(self, *words):
        until("%r on %s" % (words, self.d.current_url),
              lambda: all(w in self.text() for w in words))
        return self

    def done(self, expected=None):
        """Screenshot, and no errors in the browser's console (but one that
        contains `expected`: an answer the page was meant to get)."""
        self.d.save_screenshot(os.path.join(SHOTS, self.shot + ".png"))
        errors = [e for e in self.d.get_log("browser") if e["level"] == "SEVERE"
                  and not (expected and expected in e["message"])]
        assert not errors, "console errors on %s: %s" % (self.d.current_url, errors)


def cell(driver, task_id, run_id):
    cells = driver.find_elements(
        By.CSS_SELECTOR, 'tr[data-task="%s"] a[href*="/runs/%s/"]' % (task_id, run_id))
    return cells[0].get_attribute("data-state") if cells else None


def main():
    d = browser()
    try:
        page = Page(d, DEV)
        until("kairos dev pushed the examples",
              lambda: len(api(DEV, "/dags?limit=100")["dags"]) >= 13, within=90)

        # The DAG list: every example, tags, a filter.
        page.open("/ui/", "01-dags").has("bash_chain", "python_callables", "py_tutorial", "example")
        # A scheduled DAG says when it runs next; one with no schedule does not.
        next_run = lambda dag: d.find_element(By.CSS_SELECTOR, 'tr[data-dag="%s"] td.next-run' % dag).text
        until("bash_chain's next run", lambda: next_run("bash_chain").startswith("20"))
        none_next = fresh(lambda: next_run("python_callables"))
        assert none_next == "–", none_next
        search = d.find_element(By.ID, "search")
        search.send_keys("python_call")
        until("the search filtered the list", lambda: [
            r.get_attribute("data-dag") for r in d.find_elements(By.CSS_SELECTOR, "#dags tbody tr")
            if r.is_displayed()] == ["python_callables"])
        page.done()

        # The trigger form from the DAG's params, then the grid going green
        # without a reload: the page redraws from its event stream.
        page.open("/ui/dags/python_callables/trigger", "02-trigger").has("multiplier", "Trigger")
        field = d.find_element(By.CSS_SELECTOR, 'input[name="multiplier"]')
        assert field.get_attribute("value") == "3", field.get_attribute("value")
        field.clear()
        d.find_element(By.ID, "trigger-submit").click()
        page.has("multiplier must be a number")
        field.clear()
        field.send_keys("5")
        d.find_element(By.ID, "run-id").send_keys("ui_run")
        page.done()
        d.find_element(By.ID, "trigger-submit").click()
        until("the grid opened", lambda: "/ui/dags/python_callables" in d.current_url
              and d.find_elements(By.ID, "grid"))
        until("every task of ui_run succeeded on the grid", lambda: all(
            cell(d, t, "ui_run") == "success" for t in TASKS))
        run = api(DEV, "/dags/python_callables/dagRuns/ui_run")
        assert run["conf"]["multiplier"] == 5, run
        # With the grid open, a run made elsewhere appears and turns green
        # without a reload: the page redraws from its event stream.
        d.execute_script("window.__kairos_same_page = true")
        api(DEV, "/dags/python_callables/dagRuns", {"dag_run_id": "ui_live"})
        until("ui_live appeared and succeeded on the open grid", lambda: all(
            cell(d, t, "ui_live") == "success" for t in TASKS))
        assert d.execute_script("return window.__kairos_same_page === true"), "the page reloaded"
        Page(d, DEV).open("/ui/dags/python_callables", "03-grid").has("produce").done()

        # A task instance: its XCom, its log, then a clear through the confirmation.
        page.open("/ui/dags/python_callables/runs/ui_run/tasks/produce", "04-task-instance")
        page.has("success", "return_value", "35")
        until("the log shows", lambda: "finished: success" in d.find_element(By.ID, "log").text)
        fresh(lambda: d.find_element(By.ID, "downstream").click())
        fresh(lambda: d.find_element(By.ID, "clear").click())
        confirm = until("the confirmation", lambda: d.find_element(By.ID, "confirm"))
        assert all(t in confirm.text for t in TASKS), confirm.text
        page.done()
        before = api(DEV, "/dags/python_callables/dagRuns/ui_run/taskInstances/produce")["try_number"]
        d.find_element(By.ID, "confirm-yes").click()
        until("produce ran again", lambda: api(
            DEV, "/dags/python_callables/dagRuns/ui_run/taskInstances/produce")["try_number"] > before
            and api(DEV, "/dags/python_callables/dagRuns/ui_run")["state"] == "success")

        # A grid with task groups, folding one.
        api(DEV, "/dags/grouped_ingest/dagRuns", {"dag_run_id": "ui_groups"})
        page.open("/ui/dags/grouped_ingest", "05-groups").has("ingest", "reporting")
        until("the group's tasks show", lambda: d.find_element(
            By.CSS_SELECTOR, 'tr[data-task="ingest.orders.fetch"]').is_displayed())
        fresh(lambda: d.find_element(By.CSS_SELECTOR, 'tr[data-group="ingest"] td.task').click())
        until("the folded group hides its tasks", lambda: not d.find_element(
            By.CSS_SELECTOR, 'tr[data-task="ingest.orders.fetch"]').is_displayed())
        page.done()

        # Two versions of a DAG: its code and the diff between them.
        path = os.path.join(DAGS, "bash_chain.yml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace("description: ", "description: Changed from the UI test. ", 1))
        until("version 2 of bash_chain", lambda: api(DEV, "/dags/bash_chain")["latest_version"] == 2,
              within=90)
        page.open("/ui/dags/bash_chain/versions/2?against=1", "06-versions").has(
            "v1", "v2", "Code of v2", "Changed from the UI test")
        until("the diff shows the changed line as added and the old one as removed", lambda: any(
            "description: Changed from the UI test." in e.text
            for e in d.find_elements(By.CSS_SELECTOR, "#diff .add")) and any(
            "description: Extract" in e.text for e in d.find_elements(By.CSS_SELECTOR, "#diff .del")))
        assert "bash_chain.yml" in d.find_element(By.ID, "diff").text
        page.done()

        # The graph of a version, switched to the other version; and of a run,
        # its tasks coloured by their states.
        page.open("/ui/dags/bash_chain/graph?version=1", "06b-graph-v1").has("version 1: 3 task(s)")
        until("three nodes", lambda: len(d.find_elements(By.CSS_SELECTOR, "#graph [data-node]")) == 3)
        page.done()
        fresh(lambda: Select(d.find_element(By.ID, "graph-version")).select_by_visible_text("v2"))
        until("the graph of v2", lambda: "version=2" in d.current_url
              and d.find_element(By.ID, "graph-version").get_attribute("value") == "2"
              and len(d.find_elements(By.CSS_SELECTOR, "#graph [data-node]")) == 3)
        page.open("/ui/dags/python_callables/graph?run=ui_live", "06c-graph-run")
        until("the run's states on the graph", lambda: sorted(
            n.get_attribute("data-state") for n in d.find_elements(By.CSS_SELECTOR, "#graph [data-node]"))
            == ["success"] * len(TASKS))
        page.done()

        # The cluster, pools, Variables (masked), assets.
        page.open("/ui/cluster", "07-cluster").has("Leader: node 1", "leader", "Workers", "every team")
        until("the dev worker listed", lambda: d.find_elements(By.CSS_SELECTOR, '#workers tr[data-worker="dev"]'))
        # The page redraws its tables as the cluster changes: the rows are
        # found again on each look, so a redraw between finding a row and
        # reading it is a look that did not count, not a failure.
        until("node 1 listed as leading among the leader changes", lambda: [
            t for t in [r.text for r in d.find_elements(By.CSS_SELECTOR, "#leader-changes tbody tr")][:1]
            if "node 1" in t and "(leading)" in t])
        page.done()
        page.open("/ui/pools", "08-pools").has("default_pool").done()
        api(DEV, "/variables", {"key": "ui_secret", "value": "do-not-show-me"})
        page.open("/ui/variables", "09-variables").has("ui_secret", "***")
        assert "do-not-show-me" not in page.text()
        page.done()
        page.open("/ui/datasets", "10-assets").has("Assets").done()

        # doc_md as Markdown, and whatever HTML it holds as text.
        with open(os.path.join(DAGS, "ui_doc.yml"), "w", encoding="utf-8") as f:
            f.write("ui_doc:\n  schedule: null\n  start_date: 2024-01-01\n  doc_md: |\n"
                    "    # Orders\n\n    Loads **orders** nightly. <img src=x onerror=alert(1)>\n\n"
                    "    - see [the runbook](https://example.com/runbook)\n"
                    "    - not [this](javascript:alert(1))\n"
                    "  tasks:\n    only:\n      operator: airflow.providers.standard.operators.empty.EmptyOperator\n")
        until("ui_doc pushed", lambda: api(DEV, "/dags/ui_doc"), within=90)
        # More runs than a grid shows: it pages back to the older ones.
        for i in range(27):
            api(DEV, "/dags/ui_doc/dagRuns", {"dag_run_id": "page_%02d" % i})
        # Read in one script: the grid redraws as runs finish, and an element
        # found before a redraw is stale by the time its href is asked for.
        runs = lambda: [h.split("?run=")[1] for h in d.execute_script(
            "return Array.from(document.querySelectorAll('#grid th.run a'), a => a.href)")]
        page.open("/ui/dags/ui_doc", "11b-paging")
        until("the newest 25 runs", lambda: len(runs()) == 25 and runs()[-1] == "page_26")
        assert "page_00" not in runs(), runs()
        fresh(lambda: d.find_element(By.ID, "older-runs").click())
        until("the older runs", lambda: "before=" in d.current_url and runs() and runs()[0] == "page_00")
        assert "page_26" not in runs() and d.find_elements(By.ID, "newest-runs"), runs()
        page.done()
        page.open("/ui/dags/ui_doc", "11a-doc").has("About this DAG", "Orders", "<img src=x onerror=alert(1)>")
        assert d.find_element(By.CSS_SELECTOR, "#doc strong").text == "orders"
        links = d.find_elements(By.CSS_SELECTOR, "#doc a")
        assert [a.get_attribute("href") for a in links] == ["https://example.com/runbook"], links
        assert not d.find_elements(By.CSS_SELECTOR, "#doc img")
        page.done()

        # A DAG's text is never markup: an id with HTML in it shows as text.
        page.open("/ui/dags/%3Cimg%20src%3Dx%3E", "11-escaped")
        until("the odd id shows as text", lambda: "<img src=x>" in page.text())
        assert not d.find_elements(By.CSS_SELECTOR, "#main img")
        page.done(expected="status of 404")

        # A server over mutual TLS with tokens and teams. The browser's client
        # certificate is team sales' viewer; the token is sales' operator: the
        # certificate caps it, so the pages show what a sales viewer may see.
        login = Page(d, SERVER)
        login.open("/ui/", "12-login").has("Log in")
        d.find_element(By.ID, "token").send_keys("wrong")
        d.find_element(By.CSS_SELECTOR, "form.login button").click()
        login.has("not one the servers know")
        # The page asked who the caller is, and the wrong token: both 401.
        login.done(expected="/ui/session - Failed to load resource: the server responded with a status of 401")
        d.find_element(By.ID, "token").clear()
        d.find_element(By.ID, "token").send_keys(TOKEN)
        d.find_element(By.CSS_SELECTOR, "form.login button").click()
        until("logged in as the certificate's team and role",
              lambda: d.find_element(By.ID, "who").text.startswith("sales · viewer"))
        assert d.execute_script("return document.cookie") == "", "the session cookie is HttpOnly"
        cookie = d.get_cookie("kairos_session")
        assert cookie and cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
        # The team's DAGs only, and no action a viewer lacks.
        login.has("DAGs", "sales_report")
        assert "ops_cleanup" not in login.text(), login.text()
        toggle = d.find_element(By.CSS_SELECTOR, 'tr[data-dag="sales_report"] input[type=checkbox]')
        assert not toggle.is_enabled(), "a viewer's pause toggle is disabled"
        assert not d.find_elements(By.ID, "nav-cluster"), "no cluster page for a team"
        login.shot = "13-team-viewer"
        login.done()
        login.open("/ui/dags/sales_report", "14-team-grid")
        until("the team's run on its grid", lambda: d.find_elements(
            By.CSS_SELECTOR, 'tr[data-task="build"] a[href*="/runs/ui_team_run/"]'))
        assert not d.find_elements(By.ID, "trigger"), "no trigger button for a viewer"
        login.done()
        login.open("/ui/dags/sales_report/runs/ui_team_run/tasks/build", "15-team-task").has("build")
        assert not d.find_elements(By.ID, "clear"), "no clear button for a viewer"
        login.done()
        # Another team's DAG is absent, as one that does not exist.
        login.open("/ui/dags/ops_cleanup", "16-other-team")
        login.has("ops_cleanup")
        until("absent", lambda: d.find_elements(By.CSS_SELECTOR, "#main .error"))
        assert not d.find_elements(By.ID, "grid")
        login.done(expected="status of 404")
        d.find_element(By.ID, "logout").click()
        until("logged out", lambda: "Log in" in d.find_element(By.ID, "main").text)
        print("ui browser test: every page checked, %d screenshots in %s"
              % (len(os.listdir(SHOTS)), SHOTS))
    finally:
        d.quit()


if __name__ == "__main__":
    main()
