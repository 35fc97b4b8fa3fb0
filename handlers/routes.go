package handlers

import (
	"github.com/gin-gonic/gin"

	"consultd/services"
)

// routes is the table of contents of the site, one line per route.
func (h *Handler) routes(r *gin.Engine) {
	r.GET("/healthz", h.healthz)
	r.GET("/readyz", h.readyz)
	r.GET("/metrics", h.metricsHandler())
	r.GET("/static/*filepath", h.assets.serve)
	r.GET("/robots.txt", h.robots)
	r.GET("/sitemap.xml", h.sitemap)

	r.GET("/", h.article)
	r.GET("/assessment", h.assessmentStandalone)
	r.POST("/assessment", h.submitAssessment)
	r.GET("/assessment/:id", h.assessmentResult)
	r.POST("/assessment/:id/lead", h.submitLead)
	r.GET("/leads/:id", h.leadBooking)
	r.GET("/leads/:id/confirm", h.confirmBooking)
	r.POST("/leads/:id/book", h.bookSlot)
	r.GET("/b/:token", h.manageBooking)
	r.GET("/b/:token/invite.ics", h.inviteICS)
	r.GET("/b/:token/reschedule", h.rescheduleBooking)
	r.GET("/b/:token/reschedule/confirm", h.confirmReschedule)
	r.POST("/b/:token/reschedule", h.submitReschedule)
	r.POST("/b/:token/cancel", h.cancelBooking)
	r.GET("/embed/assessment", h.embedAssessment)

	r.POST("/webhooks/stripe", h.stripeWebhook)

	r.GET("/login", h.loginForm)
	r.POST("/login", h.login)
	r.POST("/logout", h.logout)

	// Calendar apps fetch feeds without signing in: the URL is the secret.
	feeds := r.Group("/feeds")
	feeds.GET("/:file", h.calendarFeed)

	api := r.Group("/api/v1", noStore)
	api.GET("/assessment", h.apiAssessmentDefinition)
	api.POST("/assessments", h.apiSubmitAssessment)
	api.POST("/assessments/started", h.apiAssessmentStarted)
	api.POST("/leads", h.apiCreateLead)
	api.GET("/slots", h.apiSlots)
	api.POST("/bookings", h.apiCreateBooking)
	api.GET("/bookings/:token", h.apiGetBooking)
	api.POST("/bookings/:token/reschedule", h.apiRescheduleBooking)
	api.POST("/bookings/:token/cancel", h.apiCancelBooking)

	// Staff: every route below needs a signed-in user; each group names the
	// roles it lets through.
	staff := r.Group("", h.signedIn)
	sales := staff.Group("/admin", h.allow(services.RoleAdmin, services.RoleSales))
	sales.GET("", h.adminDashboard)
	sales.GET("/leads", h.adminLeads)
	sales.GET("/leads.csv", h.adminLeadsCSV)
	sales.POST("/leads/:id/status", h.adminLeadStatus)
	sales.POST("/leads/:id/notes", h.adminLeadNote)
	sales.POST("/leads/:id/reassign", h.adminLeadReassign)
	sales.POST("/leads/:id/inquiries/:inquiry/accept", h.adminLeadAccept)
	sales.POST("/leads/:id/bookings/:booking/no-show", h.adminLeadNoShow)
	sales.GET("/leads/:id/export.json", h.adminLeadExport)
	// Consultants may read the leads they meet; the service checks which.
	staff.GET("/admin/leads/:id", h.allow(services.RoleAdmin, services.RoleSales, services.RoleConsultant), h.adminLead)
	admins := staff.Group("/admin", h.allow(services.RoleAdmin))
	admins.POST("/leads/:id/erase", h.adminLeadErase)
	admins.POST("/leads/:id/bookings/:booking/refund", h.adminLeadRefund)
	admins.GET("/session-types", h.adminSessionTypes)
	admins.POST("/session-types", h.saveSessionType)
	sales.GET("/outbox", h.adminOutbox)
	sales.GET("/outbox/:id", h.adminOutboxMessage)
	sales.GET("/outbox/:id/message.eml", h.adminOutboxRaw)
	sales.POST("/outbox/:id/retry", h.adminOutboxRetry)
	admins.GET("/audit", h.adminAudit)
	admins.GET("/feeds", h.adminFeeds)
	admins.POST("/feeds/:team/rotate", h.adminRotateTeamFeed)
	sales.GET("/calendars", h.adminCalendars)
	sales.POST("/calendars/:id/refresh", h.adminCalendarRefresh)
	portal := staff.Group("/me", h.allow(services.RoleConsultant))
	portal.GET("", h.portalHome)
	portal.POST("/hours", h.saveHours)
	portal.POST("/timeoff", h.addTimeOff)
	portal.POST("/timeoff/:id/delete", h.removeTimeOff)
	portal.POST("/feed", h.rotateMyFeed)
	portal.POST("/busy", h.saveBusyCalendar)
	portal.POST("/busy/refresh", h.refreshBusyCalendar)
	portal.POST("/busy/delete", h.removeBusyCalendar)

	r.NoRoute(h.notFound)
	r.NoMethod(h.methodNotAllowed)
}
