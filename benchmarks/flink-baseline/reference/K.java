import java.util.Random;
public class K { public static void main(String[] a){
  Random r = new Random(0); StringBuilder sb = new StringBuilder(); for (int i=0;i<10;i++) sb.append(r.nextInt(10)).append(","); System.out.println(sb);
  System.out.println(new Random(42).nextInt()+" "+new Random(0).nextDouble()+" "+new Random(42).nextDouble()+" "+new Random(0).nextLong()+" "+new Random(42).nextLong());
  Random q = new Random(0); System.out.println(q.nextInt()+" "+q.nextInt()+" "+q.nextInt());
  System.out.println(new Random(-42).nextInt(1000) + " " + new Random(1L<<48).nextInt() + " " + new Random(0).nextInt());
}}
