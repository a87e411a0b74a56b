"""403, 404 and 500 in the site's shell and the UI language; a favicon instead of a 404."""

from django.test import RequestFactory
from django.utils import translation
from django.views.defaults import server_error

from tests.conftest import sign_in


def test_an_unknown_address_is_a_chinese_404_in_the_shell(client, operator):
    sign_in(client, operator)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "页面不存在" in body and "返回我的工作页" in body
    assert 'class="topbar"' in body and "热线接线台" in body  # the shell, with the user's nav
    assert "Not Found" not in body


def test_a_404_follows_the_chosen_language(client, operator):
    sign_in(client, operator)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Page not found" in client.get("/no-such-page/").content.decode()


def test_a_page_of_another_role_is_a_chinese_403_saying_why(client, nurse):
    sign_in(client, nurse)
    response = client.get("/console/")
    assert response.status_code == 403
    body = response.content.decode()
    assert "无权访问" in body
    assert "热线接线台仅供热线接线员使用。" in body
    assert 'class="topbar"' in body and "<h1>403 Forbidden</h1>" not in body


def test_the_dashboard_refuses_an_operator_in_words(client, operator):
    sign_in(client, operator)
    response = client.get("/dashboard/")
    assert response.status_code == 403
    assert "一屏总览仅供决策者和协调员使用。" in response.content.decode()


def test_the_500_page_needs_no_database_and_no_context(db, django_assert_num_queries):
    request = RequestFactory().get("/console/")
    with translation.override("zh-hans"), django_assert_num_queries(0):
        response = server_error(request)
    assert response.status_code == 500
    body = response.content.decode()
    assert "服务器出现错误" in body and "值班电话" in body
    assert 'class="topbar"' in body
    assert 'name="language"' not in body  # no form that would post without a CSRF token


def test_a_stale_form_is_a_chinese_403_not_djangos_english_page(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "表单已失效" in body and "CSRF verification failed" not in body


def test_the_favicon_is_served(client, db):
    from django.contrib.staticfiles import finders

    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.url == "/static/favicon.svg"
    with open(finders.find("favicon.svg"), encoding="utf-8") as icon:
        assert icon.read().startswith("<svg")


def test_every_page_links_the_icon(client, db):
    assert 'rel="icon"' in client.get("/login/").content.decode()
