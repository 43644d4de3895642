"""Mobile phone numbers: the platform stores them E.164 and sends SMS to them."""
import phonenumbers


def normalize_phone(raw: str, default_region: str = "MA") -> str | None:
    """E.164 form of a number that can receive SMS, or None."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                 phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
