def test_an_operator_logs_in_through_the_browser_and_sees_the_console(
    new_page, daphne_server, artifacts
):
    page = new_page("operator1")
    assert page.url == daphne_server.url + "/console/"
    assert page.locator("h1").inner_text() == "热线接线台"
    assert page.locator("#queue-title").is_visible()
    page.screenshot(path=artifacts / "landing-operator.png", full_page=True)


def test_a_wrong_password_is_refused_with_a_message(new_page, daphne_server):
    page = new_page()
    page.goto(daphne_server.url + "/login/")
    page.fill("input[name=username]", "operator1")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert page.url.startswith(daphne_server.url + "/login/")
    assert page.locator(".error").count() == 1


def test_the_page_switches_to_english(new_page, daphne_server):
    page = new_page("counsellor1")
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.locator("h1").inner_text() == "Counselling inbox"
