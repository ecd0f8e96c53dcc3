package dev.sluice.nexmark;
public class Main { public static void main(String[] a) {} }
