package dev.weft.diag;

/**
 * A minimal JSON writer for the snapshot format: objects, arrays, strings, numbers, booleans
 * and null, written in order into one StringBuilder. It checks nothing; its callers write
 * well-formed documents.
 */
final class Json {
    private final StringBuilder sb;
    private boolean needComma;

    Json(StringBuilder sb) {
        this.sb = sb;
    }

    Json open() {
        comma();
        sb.append('{');
        needComma = false;
        return this;
    }

    Json close() {
        sb.append('}');
        needComma = true;
        return this;
    }

    Json openArray(String name) {
        key(name);
        sb.append('[');
        needComma = false;
        return this;
    }

    Json closeArray() {
        sb.append(']');
        needComma = true;
        return this;
    }

    /** Starts a member whose value follows (an object or an array). */
    Json key(String name) {
        comma();
        string(name);
        sb.append(':');
        needComma = false;
        return this;
    }

    Json field(String name, String value) {
        key(name);
        if (value == null) {
            sb.append("null");
        } else {
            string(value);
        }
        needComma = true;
        return this;
    }

    Json field(String name, long value) {
        key(name);
        sb.append(value);
        needComma = true;
        return this;
    }

    Json field(String name, boolean value) {
        key(name);
        sb.append(value);
        needComma = true;
        return this;
    }

    Json nullField(String name) {
        key(name);
        sb.append("null");
        needComma = true;
        return this;
    }

    /** An array element that is a string. */
    Json element(String value) {
        comma();
        string(value);
        needComma = true;
        return this;
    }

    private void comma() {
        if (needComma) {
            sb.append(',');
        }
    }

    private void string(String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x2028 || c == 0x2029) {
                        sb.append(String.format("\\u%04x", (int) c)); // also safe inside HTML and scripts
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
