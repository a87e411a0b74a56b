"""The care pages: who sees what, and the small forms that call the services."""

from django.test import Client

from realtime.models import Event
from referrals.models import Referral


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_counsellor_inbox_shows_the_pushed_referral_in_chinese(referral, counsellor_a):
    page = signed_in(counsellor_a).get("/care/counselling/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "咨询转介收件箱" in html
    assert f'data-referral="{referral.pk}"' in html
    assert "高三学生" in html
    assert "接收" in html  # the acknowledge button, in Chinese


def test_another_centre_and_other_roles_do_not_see_it(referral, counsellor_b, operator, outsider):
    html = signed_in(counsellor_b).get("/care/counselling/").content.decode()
    assert f'data-referral="{referral.pk}"' not in html
    assert signed_in(operator).get("/care/counselling/").status_code == 403
    assert signed_in(outsider).get("/care/hospital/").status_code == 403
    assert signed_in(counsellor_b).get(f"/care/cases/{referral.case_id}/").status_code == 404


def test_the_acknowledge_form_calls_the_service(referral, counsellor_a, counsellor_b):
    response = signed_in(counsellor_b).post(f"/care/referrals/{referral.pk}/acknowledge/")
    assert response.status_code == 404
    response = signed_in(counsellor_a).post(f"/care/referrals/{referral.pk}/acknowledge/")
    assert response.status_code == 302
    assert Referral.objects.get(pk=referral.pk).state == "acknowledged"
    again = signed_in(counsellor_a).post(f"/care/referrals/{referral.pk}/acknowledge/", follow=True)
    assert "already taken" in again.content.decode() or "已" in again.content.decode()
    assert Event.objects.filter(type="referral.acknowledged").count() == 1


def test_the_case_page_is_audited_for_the_centre(referral, counsellor_a):
    page = signed_in(counsellor_a).get(f"/care/cases/{referral.case_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    timeline = html[html.index('id="timeline"') :]
    assert "referral.sent" not in timeline  # the timeline says it in words
    assert "新转介" in timeline
    assert Event.objects.filter(type="case.read", data__what="case_page").exists()


def test_the_hospital_and_follow_up_pages_render(nurse, coordinator):
    assert signed_in(nurse).get("/care/hospital/").status_code == 200
    assert signed_in(coordinator).get("/care/follow-ups/").status_code == 200
