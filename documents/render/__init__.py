"""PDF rendering of certificates (reportlab, IPAex fonts) with anti-forgery print."""

from documents.render.certificate import RenderError, SealImageMismatch, render_pdf

__all__ = ["RenderError", "SealImageMismatch", "render_pdf"]
