package dev.weft.checks;

import java.util.ArrayList;
import java.util.List;

/** A line diff (longest common subsequence) for failure messages: changed lines with two lines of context. */
final class LineDiff {

    private LineDiff() {}

    /** Lines of {@code before} and {@code after} that differ, prefixed "- " and "+ ", with context prefixed "  ". */
    static List<String> diff(List<String> before, List<String> after) {
        int n = before.size();
        int m = after.size();
        int[][] lcs = new int[n + 1][m + 1];
        for (int i = n - 1; i >= 0; i--) {
            for (int j = m - 1; j >= 0; j--) {
                lcs[i][j] = before.get(i).equals(after.get(j))
                        ? lcs[i + 1][j + 1] + 1
                        : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        List<String> all = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < n || j < m) {
            if (i < n && j < m && before.get(i).equals(after.get(j))) {
                all.add("  " + before.get(i));
                i++;
                j++;
            } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
                all.add("+ " + after.get(j++));
            } else {
                all.add("- " + before.get(i++));
            }
        }
        List<String> out = new ArrayList<>();
        int lastShown = -1;
        for (int k = 0; k < all.size(); k++) {
            if (all.get(k).startsWith("  ")) {
                continue;
            }
            int from = Math.max(lastShown + 1, k - 2);
            if (lastShown >= 0 && from > lastShown + 1) {
                out.add("  ...");
            }
            for (int c = from; c < k; c++) {
                out.add(all.get(c));
            }
            out.add(all.get(k));
            lastShown = k;
            for (int c = k + 1; c < Math.min(all.size(), k + 3) && all.get(c).startsWith("  "); c++) {
                out.add(all.get(c));
                lastShown = c;
            }
        }
        return out;
    }
}
