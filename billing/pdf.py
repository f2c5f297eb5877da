"""Invoice and credit-note PDFs, rendered with fpdf2 (pure Python, core fonts, no network)."""

from __future__ import annotations

from fpdf import FPDF

from billing import conf
from billing.models import Invoice


def _latin1(text) -> str:
    """Core PDF fonts speak Latin-1; anything else becomes '?' rather than failing the render."""
    return str(text).replace("→", "->").replace("—", "-").encode("latin-1", "replace").decode("latin-1")


def invoice_pdf(*, invoice: Invoice) -> bytes:
    """The document as PDF bytes: seller, buyer, lines, subtotal, discount, tax and total."""
    seller = conf.get("BILLING_SELLER")
    title = "CREDIT NOTE" if invoice.kind == Invoice.Kind.CREDIT_NOTE else "INVOICE"
    pdf = FPDF(format="A4")
    pdf.set_title(f"{title} {invoice.number}")
    pdf.set_author(seller["name"])
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, _latin1(f"{title} {invoice.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for line in (seller["name"], seller["address"], f"Tax ID {seller['tax_id']}",
                 f"Issued {invoice.issued_at:%Y-%m-%d} · order {invoice.order.order_number}"):
        pdf.cell(0, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    if invoice.credits_id:
        pdf.cell(0, 5, _latin1(f"Credits invoice {invoice.credits.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    buyer = invoice.buyer or {}
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 6, "Bill to", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    region = " ".join(part for part in (buyer.get("state", ""), buyer.get("country", "")) if part)
    pdf.cell(0, 5, _latin1(f"{buyer.get('name', '')} ({buyer.get('slug', '')}) {region}"), new_x="LMARGIN",
             new_y="NEXT")
    pdf.ln(4)
    widths = (28, 70, 12, 26, 26, 28)
    pdf.set_font("Helvetica", "B", 9)
    for width, head in zip(widths, ("SKU", "Description", "Qty", "Unit", "Tax", "Amount")):
        pdf.cell(width, 7, head, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for row in invoice.lines:
        cells = (row["sku"], row["description"][:42], str(row["quantity"]), row["unit_price"], row["tax"],
                 row["total"])
        for width, value in zip(widths, cells):
            pdf.cell(width, 7, _latin1(value), border=1)
        pdf.ln()
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 10)
    for label, value in (("Subtotal", invoice.subtotal), ("Discount", -invoice.discount_amount),
                         ("Tax", invoice.tax_amount)):
        pdf.cell(150, 6, label, align="R")
        pdf.cell(40, 6, f"{value:.2f}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(150, 7, f"Total {invoice.currency}", align="R")
    pdf.cell(40, 7, f"{invoice.total:.2f}", align="R", new_x="LMARGIN", new_y="NEXT")
    if invoice.order.tax_inclusive:
        pdf.set_font("Helvetica", "I", 8)
        pdf.cell(0, 6, "Prices include tax.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
