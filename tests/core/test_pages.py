def test_the_login_page_is_chinese_by_default(client, db):
    response = client.get("/login/")
    assert response.status_code == 200
    assert "登录" in response.content.decode()


def test_english_is_available(client, db):
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert "Log in" in client.get("/login/").content.decode()


def test_an_anonymous_visitor_is_sent_to_log_in(client, db):
    response = client.get("/console/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_an_operator_logs_in_and_lands_on_the_console(client, operator, hotline_case):
    response = client.post(
        "/login/", {"username": "operator", "password": "pw-for-tests-1"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/console/"
    body = response.content.decode()
    assert "热线接线台" in body
    assert 'id="queue"' in body and 'id="triage"' in body
    assert "csrftoken" in response.cookies  # the console's API calls need it


def test_each_role_lands_on_its_own_page(client, counsellor_a, nurse, coordinator, decision_maker):
    for user, url in (
        (counsellor_a, "/care/counselling/"),
        (nurse, "/care/hospital/"),
        (decision_maker, "/dashboard/"),
    ):
        client.force_login(user)
        assert client.get("/").url == url
    client.force_login(coordinator)
    body = client.get("/").content.decode()  # a coordinator has two pages: it offers both
    assert "/coordination/" in body and "/dashboard/" in body


def test_a_page_for_another_role_is_refused(client, counsellor_a, hotline_case):
    client.force_login(counsellor_a)
    assert client.get("/console/").status_code == 403
    assert "小周" not in client.get("/care/counselling/").content.decode()
