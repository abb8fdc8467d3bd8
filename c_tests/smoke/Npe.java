// Smoke program for the JVM: thousands of NullPointerExceptions thrown and
// caught. Once the loop is compiled, HotSpot turns each null check into a
// plain load and lets the SIGSEGV of a null dereference (its own handler)
// raise the exception, so this exercises the JVM's signal handling under
// the preloaded library. Prints a checksum that does not depend on timing.
public class Npe {
    static final class Box {
        int value;
        Box(int v) { value = v; }
    }

    static int read(Box b) {
        return b.value; // implicit null check in compiled code
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 200000;
        Box[] boxes = new Box[97];
        for (int i = 0; i < boxes.length; i++) {
            boxes[i] = (i % 3 == 0) ? null : new Box(i * 31);
        }
        long sum = 0;
        int caught = 0;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < rounds; i++) {
            try {
                sum += read(boxes[i % boxes.length]);
            } catch (NullPointerException e) {
                caught++;
                sum ^= i;
            }
            if (i % 50000 == 0) {
                sb.setLength(0);
                sb.append("round ").append(i).append(' ').append(sum);
                System.out.println(sb);
            }
        }
        System.out.println("caught " + caught + " NullPointerExceptions, checksum " + sum);
    }
}
