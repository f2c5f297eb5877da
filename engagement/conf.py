"""Settings of the engagement app (``cdp.conf.AppSettings``): the environment reaches them only
through the settings module (``ENGAGEMENT_*`` variables, and ``CDP_SMTP_URL``)."""

from cdp.conf import AppSettings

conf = AppSettings({
    # The SMTP server e-mails go to: smtp://user:password@host:port (STARTTLS with ?starttls=1),
    # smtps://... for implicit TLS. Empty: Django's EMAIL_BACKEND (console in development).
    "CDP_SMTP_URL": "",
    # Seconds each SMTP socket operation may take (smtplib has no total deadline).
    "ENGAGEMENT_SMTP_TIMEOUT": 20.0,
    # The From of e-mails when a template has none.
    "ENGAGEMENT_EMAIL_FROM": "CDP <no-reply@cdp.localhost>",
    # Links in messages (unsubscribe, status callbacks) use this scheme with the tenant's host.
    "ENGAGEMENT_PUBLIC_SCHEME": "https",
    # WhatsApp Business Cloud API: base URL, Graph API version, the sending number's id and token.
    "ENGAGEMENT_WHATSAPP_BASE_URL": "https://graph.facebook.com",
    "ENGAGEMENT_WHATSAPP_API_VERSION": "v21.0",
    "ENGAGEMENT_WHATSAPP_PHONE_NUMBER_ID": "",
    "ENGAGEMENT_WHATSAPP_TOKEN": "",
    # The Meta app's secret: key of the X-Hub-Signature-256 HMAC on status webhooks.
    "ENGAGEMENT_WHATSAPP_APP_SECRET": "",
    # What Meta echoes back when the webhook is (re)configured (hub.verify_token).
    "ENGAGEMENT_WHATSAPP_VERIFY_TOKEN": "",
    # Twilio Messages API: base URL, account SID, auth token (also the status-callback HMAC key), sender.
    "ENGAGEMENT_TWILIO_BASE_URL": "https://api.twilio.com",
    "ENGAGEMENT_TWILIO_ACCOUNT_SID": "",
    "ENGAGEMENT_TWILIO_AUTH_TOKEN": "",
    "ENGAGEMENT_TWILIO_FROM": "",
    # Meta Marketing API (Custom Audiences): base URL, version, a system user's token.
    "ENGAGEMENT_META_BASE_URL": "https://graph.facebook.com",
    "ENGAGEMENT_META_API_VERSION": "v21.0",
    "ENGAGEMENT_META_ACCESS_TOKEN": "",
    # Rows per users-endpoint call (Meta takes at most 10,000).
    "ENGAGEMENT_META_BATCH": 10000,
    # Google Ads API (Customer Match through OfflineUserDataJobService): base URL, version, the
    # account (customer id, digits), the manager account it is reached through (optional), the
    # developer token and an OAuth access token (refreshed outside the CDP).
    "ENGAGEMENT_GOOGLE_ADS_BASE_URL": "https://googleads.googleapis.com",
    "ENGAGEMENT_GOOGLE_ADS_API_VERSION": "v21",
    "ENGAGEMENT_GOOGLE_ADS_CUSTOMER_ID": "",
    "ENGAGEMENT_GOOGLE_ADS_LOGIN_CUSTOMER_ID": "",
    "ENGAGEMENT_GOOGLE_ADS_DEVELOPER_TOKEN": "",
    "ENGAGEMENT_GOOGLE_ADS_ACCESS_TOKEN": "",
    # Operations per addOperations call (Google accepts up to 100,000 identifiers a request).
    "ENGAGEMENT_GOOGLE_ADS_BATCH": 10000,
    # Double opt-in: days a confirmation link stays valid.
    "ENGAGEMENT_OPT_IN_MAX_AGE_DAYS": 7,
    # Provider HTTP calls: total deadline (s) and response size cap (bytes).
    "ENGAGEMENT_HTTP_DEADLINE": 15.0,
    "ENGAGEMENT_HTTP_MAX_BYTES": 256 * 1024,
    # The providers' hosts are the operator's choice, not a tenant's: loopback fakes in tests and
    # a local relay are allowed only when this is on (off in production).
    "ENGAGEMENT_ALLOW_PRIVATE_PROVIDER_URLS": False,
    # Attempts per message before it is marked failed, and the backoff between them (s): base * 2**n, capped.
    "ENGAGEMENT_MAX_ATTEMPTS": 5,
    "ENGAGEMENT_RETRY_BASE": 30.0,
    "ENGAGEMENT_RETRY_MAX": 3600.0,
    # Campaign fan-out: notifications per send task, and messages per second per tenant.
    "ENGAGEMENT_SEND_CHUNK": 200,
    "ENGAGEMENT_SEND_RATE": 100.0,
})
get = conf.get
