package dev.pgreclaim.policy;

/** The {@code *} / {@code ?} patterns of the protect lists, matched in Java and translated to SQL {@code LIKE}. */
public final class Globs {
    private Globs() {
    }

    /** Whole-string match; {@code *} is any run of characters, {@code ?} one character. */
    public static boolean matches(String pattern, String text) {
        if (text == null) {
            text = "";
        }
        return matches(pattern, 0, text, 0);
    }

    private static boolean matches(String pattern, int p, String text, int t) {
        while (p < pattern.length()) {
            char c = pattern.charAt(p);
            if (c == '*') {
                for (int k = t; k <= text.length(); k++) {
                    if (matches(pattern, p + 1, text, k)) {
                        return true;
                    }
                }
                return false;
            }
            if (t >= text.length() || (c != '?' && c != text.charAt(t))) {
                return false;
            }
            p++;
            t++;
        }
        return t == text.length();
    }

    /** The same pattern as a SQL {@code LIKE} pattern with {@code \} as escape (PostgreSQL's default). */
    public static String toLike(String pattern) {
        StringBuilder like = new StringBuilder(pattern.length() + 4);
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c == '*') {
                like.append('%');
            } else if (c == '?') {
                like.append('_');
            } else if (c == '%' || c == '_' || c == '\\') {
                like.append('\\').append(c);
            } else {
                like.append(c);
            }
        }
        return like.toString();
    }
}
