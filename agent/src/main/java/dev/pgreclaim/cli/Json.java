package dev.pgreclaim.cli;

/** Just enough JSON writing for {@code status --json}: objects, arrays, strings, numbers, booleans, null. */
final class Json {
    private final StringBuilder out = new StringBuilder();
    private boolean needComma;

    Json beginObject() {
        comma();
        out.append('{');
        needComma = false;
        return this;
    }

    Json endObject() {
        out.append('}');
        needComma = true;
        return this;
    }

    Json beginArray(String name) {
        name(name);
        out.append('[');
        needComma = false;
        return this;
    }

    Json endArray() {
        out.append(']');
        needComma = true;
        return this;
    }

    Json field(String name, String value) {
        name(name);
        if (value == null) {
            out.append("null");
        } else {
            quote(out, value);
        }
        needComma = true;
        return this;
    }

    Json field(String name, long value) {
        name(name);
        out.append(value);
        needComma = true;
        return this;
    }

    /** A number, or null when absent (e.g. an idle time the admin role may not see). */
    Json field(String name, Long value) {
        name(name);
        out.append(value == null ? "null" : value.toString());
        needComma = true;
        return this;
    }

    Json field(String name, boolean value) {
        name(name);
        out.append(value);
        needComma = true;
        return this;
    }

    private void name(String name) {
        comma();
        quote(out, name);
        out.append(':');
    }

    private void comma() {
        if (needComma) {
            out.append(',');
        }
    }

    /** RFC 8259 string: quote, backslash and control characters escaped; everything else as is (UTF-8 output). */
    static void quote(StringBuilder out, String value) {
        out.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"':
                    out.append("\\\"");
                    break;
                case '\\':
                    out.append("\\\\");
                    break;
                case '\n':
                    out.append("\\n");
                    break;
                case '\r':
                    out.append("\\r");
                    break;
                case '\t':
                    out.append("\\t");
                    break;
                default:
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        out.append('"');
    }

    @Override
    public String toString() {
        return out.toString();
    }
}
