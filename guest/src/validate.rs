//! Shape checks on caller input. Pure functions: they run before anything is
//! read, so a malformed request is refused without touching the store.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::error::{Error, Field};
use crate::limits::{DOCUMENT_ID_LEN_MAX, ID_LEN_MAX, IDEMPOTENCY_KEY_LEN_MAX, TEXT_LEN_MAX, TIMESTAMP_MS_MAX};
use crate::model::Ctx;

/// An id: 1 ..= `ID_LEN_MAX` bytes (`DOCUMENT_ID_LEN_MAX` for the ids the
/// component issues) of `A-Z a-z 0-9 . _ : @ -`.
pub fn id(value: &str, field: Field) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::IdMustNotBeEmpty(field));
    }
    let max = match field {
        Field::HoldId | Field::InvoiceId | Field::PaymentId => DOCUMENT_ID_LEN_MAX,
        _ => ID_LEN_MAX,
    };
    if value.len() > max {
        return Err(Error::IdTooLong(field));
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'@' | b'-');
    if !value.bytes().all(allowed) {
        return Err(Error::IdHasInvalidCharacter(field));
    }
    Ok(())
}

/// Free text: at most `TEXT_LEN_MAX` bytes, no control characters. May be empty.
pub fn text(value: &str, field: Field) -> Result<(), Error> {
    if value.len() > TEXT_LEN_MAX {
        return Err(Error::TextTooLong(field));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::TextHasControlCharacter(field));
    }
    Ok(())
}

/// A longer free text (a note): at most `max` bytes; line breaks and tabs
/// are allowed, other control characters are not.
pub fn long_text(value: &str, max: usize, field: Field) -> Result<(), Error> {
    if value.len() > max {
        return Err(Error::TextTooLong(field));
    }
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t')) {
        return Err(Error::TextHasControlCharacter(field));
    }
    Ok(())
}

/// A timestamp within 0 ..= `TIMESTAMP_MS_MAX`.
pub fn timestamp(value: i64, field: Field) -> Result<(), Error> {
    if (0..=TIMESTAMP_MS_MAX).contains(&value) {
        Ok(())
    } else {
        Err(Error::TimestampOutOfRange(field))
    }
}

/// The call context: a key of printable ASCII without spaces, and a valid time.
pub fn ctx(ctx: &Ctx) -> Result<(), Error> {
    key(&ctx.idempotency_key, IDEMPOTENCY_KEY_LEN_MAX, Field::IdempotencyKey)?;
    timestamp(ctx.now_ms, Field::NowMs)
}

/// A key someone else chose (an idempotency key, a bank's reference):
/// 1 ..= `max` bytes of printable ASCII, no spaces.
pub fn key(value: &str, max: usize, field: Field) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::IdMustNotBeEmpty(field));
    }
    if value.len() > max {
        return Err(Error::IdTooLong(field));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::IdHasInvalidCharacter(field));
    }
    Ok(())
}

/// A paging cursor the component handed out (`next-after`): printable
/// ASCII without spaces, at most `DOCUMENT_ID_LEN_MAX` bytes. Its content is only
/// a position: any such text is a valid place to continue from.
pub fn cursor(value: &str, field: Field) -> Result<(), Error> {
    cursor_of(value, DOCUMENT_ID_LEN_MAX, field)
}

/// A cursor of at most `max` bytes (debtor-list positions are longer than
/// ids: they carry the sort value too).
pub fn cursor_of(value: &str, max: usize, field: Field) -> Result<(), Error> {
    if value.len() > max {
        return Err(Error::IdTooLong(field));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::IdHasInvalidCharacter(field));
    }
    Ok(())
}

/// A page limit within 1 ..= `PAGE_LIMIT_MAX`.
pub fn page_limit(limit: u32) -> Result<(), Error> {
    if (1..=crate::limits::PAGE_LIMIT_MAX).contains(&limit) {
        Ok(())
    } else {
        Err(Error::PageLimitOutOfRange)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(id("acme-01", Field::AccountId), Ok(()));
        assert_eq!(id("a@b.c:d_e", Field::AccountId), Ok(()));
        assert_eq!(id("", Field::AccountId), Err(Error::IdMustNotBeEmpty(Field::AccountId)));
        assert_eq!(id(&"a".repeat(64), Field::AccountId), Ok(()));
        assert_eq!(id(&"a".repeat(65), Field::AccountId), Err(Error::IdTooLong(Field::AccountId)));
        for bad in ["a/b", "a b", "é", "a\0", "a%2F"] {
            assert_eq!(id(bad, Field::OrderId), Err(Error::IdHasInvalidCharacter(Field::OrderId)), "{bad:?}");
        }
    }

    #[test]
    fn texts_and_times() {
        assert_eq!(text("", Field::Reason), Ok(()));
        assert_eq!(text(&"é".repeat(128), Field::Reason), Ok(()));
        assert_eq!(text(&"é".repeat(129), Field::Reason), Err(Error::TextTooLong(Field::Reason)));
        assert_eq!(text("a\nb", Field::Reason), Err(Error::TextHasControlCharacter(Field::Reason)));
        assert_eq!(timestamp(-1, Field::NowMs), Err(Error::TimestampOutOfRange(Field::NowMs)));
        assert_eq!(timestamp(TIMESTAMP_MS_MAX, Field::NowMs), Ok(()));
        assert_eq!(timestamp(TIMESTAMP_MS_MAX + 1, Field::NowMs), Err(Error::TimestampOutOfRange(Field::NowMs)));
    }
}
