"""A person's WeChat identity (微信公众号 openid): the channel's counterpart of ``PersonPhone``."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PersonWeChat(models.Model):
    """The openid the Official Account knows a person by (one per person and account). An openid
    names one person (unique), so their messages always find the same person and case; it is
    personal data, deleted with the person's numbers at retention."""

    person = models.ForeignKey(
        "hotline.Person", on_delete=models.CASCADE, related_name="wechat_ids"
    )
    openid = models.CharField(_("WeChat openid"), max_length=64, unique=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("WeChat identity")
        verbose_name_plural = _("WeChat identities")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"wechat:{self.openid}"
