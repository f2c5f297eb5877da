"""The customers app's stable vocabulary: the error codes it raises and the audit actions it
records. The values are the API's documented contract (clients and tests match on them) and the
audit trail's history: never change one; add new ones as ``subject_problem``."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # ingest and imports
    BATCH_TOO_LARGE = "batch_too_large"
    COLUMNS_INVALID = "invalid_columns"
    COLUMNS_MISSING = "missing_columns"
    # profiles
    CUSTOMER_MERGED = "customer_merged"
    CUSTOMER_PSEUDONYMIZED = "customer_pseudonymized"
    DOCUMENT_TAKEN = "document_taken"
    EMAIL_TAKEN = "email_taken"
    FIELD_FORBIDDEN = "field_forbidden"
    # recovery
    CHANGE_SUPERSEDED = "change_superseded"
    REVERT_INVALID = "revert_invalid"
    REVERT_TO_EMPTY = "revert_to_empty"
    # retention and inactivity
    INACTIVITY_INVALID = "inactivity_invalid"
    # the counted-sale rule
    COUNTED_STATUSES_INVALID = "invalid_counted_statuses"
    RECOMPUTE_IN_PROGRESS = "recompute_in_progress"
    # duplicates and merges
    DUPLICATE_MERGED = "duplicate_merged"
    MERGE_ALREADY_UNDONE = "merge_already_undone"
    MERGE_CONFLICT = "merge_conflict"
    MERGE_CREDIT_CONFLICT = "merge_credit_conflict"
    MERGE_IDENTIFIER_CONFLICT = "merge_identifier_conflict"
    MERGE_INVALID = "merge_invalid"
    MERGE_SELF = "merge_self"
    MERGE_UNDO_BLOCKED = "merge_undo_blocked"
    MERGE_UNDO_DIVERGED = "merge_undo_diverged"
    # credit
    CREDIT_ACCOUNT_EXISTS = "credit_account_exists"
    CREDIT_ACCOUNT_NOT_APPROVED = "credit_account_not_approved"
    CREDIT_ACCOUNT_NOT_REQUESTED = "credit_account_not_requested"
    CREDIT_ACCOUNT_NOT_SUSPENDED = "credit_account_not_suspended"
    CREDIT_ACCOUNT_SUSPENDED = "credit_account_suspended"
    CREDIT_CONFLICT = "credit_conflict"
    CREDIT_LIMIT_BELOW_USED = "credit_limit_below_used"
    CREDIT_LIMIT_EXCEEDED = "credit_limit_exceeded"
    CREDIT_OPERATION_INVALID = "invalid_credit_operation"
    CREDIT_OVERPAYMENT = "credit_overpayment"
    CREDIT_USAGE_EXISTS = "credit_usage_exists"
    CURRENCY_MISMATCH = "currency_mismatch"
    NOTE_REQUIRED = "note_required"
    ORDER_NOT_CHARGEABLE = "order_not_chargeable"
    ORDER_NOT_FOUND = "order_not_found"
    USAGE_NOT_FOUND = "usage_not_found"
    # consent
    CONSENT_TOKEN_INVALID = "consent_token_invalid"
    # custom attributes
    ATTRIBUTE_INVALID = "attribute_invalid"
    # saved views of the customer list
    VIEWS_TOO_MANY = "views_too_many"


class AuditAction(StrEnum):
    # profiles and addresses
    CUSTOMER_CREATE = "customer.create"
    CUSTOMER_UPDATE = "customer.update"
    CUSTOMER_ADDRESS_CREATE = "customer_address.create"
    CUSTOMER_ADDRESS_UPDATE = "customer_address.update"
    SOURCE_PRIORITY_SET = "source_priority.set"
    SOURCE_PRIORITY_DELETE = "source_priority.delete"
    # products
    PRODUCT_CREATE = "product.create"
    PRODUCT_UPDATE = "product.update"
    PRODUCT_DELETE = "product.delete"
    # orders
    ORDERS_INGEST = "orders.ingest"
    ORDERS_BULK_LOAD = "orders.bulk_load"
    # leads and subscribers (customers without orders)
    CUSTOMERS_INGEST = "customers.ingest"
    SALES_COUNTED_STATUSES_SET = "sales.counted_statuses.set"
    # privacy
    CUSTOMER_EXPORT = "customer.export"
    CUSTOMER_PSEUDONYMIZE = "customer.pseudonymize"
    CUSTOMER_REVERT_SOURCE = "customer.revert_source"
    CUSTOMERS_INACTIVITY_PSEUDONYMIZE = "customers.inactivity_pseudonymize"
    # duplicates and merges
    CUSTOMER_MERGE = "customer.merge"
    CUSTOMER_MERGE_UNDO = "customer.merge_undo"
    DUPLICATE_DISMISS = "duplicate.dismiss"
    DUPLICATES_RECOMPUTE = "duplicates.recompute"
    # credit
    CREDIT_APPROVE = "credit.approve"
    CREDIT_PAYMENT = "credit.payment"
    CREDIT_REINSTATE = "credit.reinstate"
    CREDIT_REJECT = "credit.reject"
    CREDIT_REQUEST = "credit.request"
    CREDIT_SUSPEND = "credit.suspend"
    CREDIT_USAGE = "credit.usage"
    # custom attributes
    ATTRIBUTE_DEFINE = "attribute.define"
    ATTRIBUTE_UPDATE = "attribute.update"
    CUSTOMER_ATTRIBUTES_SET = "customer.attributes_set"
    # consent
    CONSENT_RECORD = "consent.record"
    CONSENT_UNSUBSCRIBE = "consent.unsubscribe"
    # saved views of the customer list
    CUSTOMER_VIEW_SAVE = "customer_view.save"
    CUSTOMER_VIEW_DELETE = "customer_view.delete"
