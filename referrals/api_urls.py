from rest_framework.routers import SimpleRouter

from referrals import api

router = SimpleRouter()
router.register("referrals", api.ReferralViewSet, basename="referral")
router.register("slots", api.SlotViewSet, basename="slot")
router.register("hospital-slots", api.HospitalSlotViewSet, basename="hospital-slot")
router.register("appointments", api.AppointmentViewSet, basename="appointment")

urlpatterns = router.urls
