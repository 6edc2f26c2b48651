"""Small realistic sources per language, and the chunks each should give (symbol, kind, first, last)."""

PYTHON = '''\
import os

LIMIT = 3


@cached
def load(path):
    """Read a file."""
    def inner():
        return path
    return open(inner()).read()


# A greeter.
class Greeter(Base):
    """Says hello."""

    def hello(self, name):
        return f"hi {name}"

    @property
    def name(self):
        return "g"


print(load(os.sep))
'''

GO = """\
package server

import "fmt"

// Server serves requests.
type Server struct {
	addr string
}

type Handler interface {
	Serve() error
}

// NewServer creates a Server.
// It never fails.
func NewServer(addr string) *Server {
	return &Server{addr: addr}
}

func (s *Server) Serve() error {
	fmt.Println(s.addr)
	return nil
}
"""

RUST = """\
use std::fmt;

/// A point.
#[derive(Debug)]
pub struct Point {
    x: f64,
}

impl Point {
    /// Makes a point.
    pub fn new(x: f64) -> Self {
        Point { x }
    }

    #[inline]
    pub fn x(&self) -> f64 {
        self.x
    }
}

pub trait Shape {
    fn area(&self) -> f64;
}

fn main() {
    println!("{:?}", Point::new(1.0));
}
"""

JAVA = """\
package com.example;

import java.util.List;

/**
 * Keeps users.
 */
public class Users extends Base {
    private final List<String> names;

    /** Creates it. */
    public Users(List<String> names) {
        this.names = names;
    }

    @Override
    @Deprecated
    public int count() {
        return names.size();
    }
}

interface Counter {
    int count();
}
"""

C = """\
#include <stdlib.h>

/* A growable buffer. */
typedef struct buffer {
    char *data;
    size_t len;
} buffer_t;

enum color { RED, GREEN };

/**
 * Allocates a buffer.
 */
buffer_t *buffer_new(size_t cap) {
    buffer_t *b = malloc(sizeof *b);
    b->len = cap;
    return b;
}

int main(void) {
    return 0;
}
"""

CPP = """\
#include <vector>

namespace geo {

// A circle.
class Circle : public Shape {
public:
    explicit Circle(double r) : r_(r) {}
    double area() const override {
        return 3.14 * r_ * r_;
    }
private:
    double r_;
};

template <typename T>
T clamp(T v, T lo, T hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

}  // namespace geo

double Shape::total() const {
    return 0;
}
"""

RUBY = """\
require "json"

# Shapes.
module Shapes
  # A circle.
  class Circle < Shape
    attr_reader :radius

    def initialize(radius)
      @radius = radius
    end

    # The area.
    def area
      3.14 * radius**2
    end
  end
end

def helper(x)
  x * 2
end
"""

CSHARP = """\
using System;

namespace App.Services
{
    /// <summary>Keeps orders.</summary>
    public class OrderService
    {
        private readonly int _count;

        /// <summary>Adds an order.</summary>
        [Obsolete("use AddAsync")]
        public void Add(Order order)
        {
            Console.WriteLine(order);
        }
    }

    public enum State { Open, Closed }
}
"""

JAVASCRIPT = """\
import fs from "fs";

/**
 * Reads a file.
 */
export function readFile(path) {
  return fs.readFileSync(path, "utf8");
}

const double = (x) => x * 2;

class Cache extends Map {
  // Gets a value.
  get(key) {
    this.hits++;
    return super.get(key);
  }
}

module.exports = { Cache, double };
"""

TYPESCRIPT = """\
import { readFileSync } from "fs";

export interface User {
  id: number;
}

export type Id = number | string;

/** Stores users. */
export class UserStore {
  private users: User[] = [];

  @logged
  add(user: User): void {
    this.users.push(user);
  }
}

export function load(path: string): User[] {
  return JSON.parse(readFileSync(path, "utf8"));
}
"""

TSX = """\
import React from "react";

type Props = { name: string };

// Greets someone.
export function Greeting({ name }: Props) {
  return <div className="greeting">Hello, {name}!</div>;
}

export default class App extends React.Component<Props> {
  render() {
    return <Greeting name={this.props.name} />;
  }
}
"""

# language: (path, source, expected chunks as "symbol kind first-last", "-" for no symbol)
CASES = {
    "python": (
        "pkg/sample.py",
        PYTHON,
        """
        - module 1-3
        load function 6-11
        Greeter class 14-16
        Greeter.hello method 18-19
        Greeter.name method 21-23
        - module 26-26
        """,
    ),
    "go": (
        "server/main.go",
        GO,
        """
        - module 1-3
        Server struct 5-8
        Handler interface 10-12
        NewServer function 14-18
        Server.Serve method 20-23
        """,
    ),
    "rust": (
        "src/lib.rs",
        RUST,
        """
        - module 1-1
        Point struct 3-7
        Point impl 9-9
        Point.new method 10-13
        Point.x method 15-19
        Shape trait 21-23
        main function 25-27
        """,
    ),
    "java": (
        "src/Users.java",
        JAVA,
        """
        - module 1-3
        Users class 5-9
        Users.Users method 11-14
        Users.count method 16-21
        Counter interface 23-25
        """,
    ),
    "c": (
        "src/buf.c",
        C,
        """
        - module 1-1
        buffer_t struct 3-7
        color enum 9-9
        buffer_new function 11-18
        main function 20-22
        """,
    ),
    "cpp": (
        "src/shapes.cpp",
        CPP,
        """
        - module 1-1
        geo namespace 3-3
        geo.Circle class 5-7
        geo.Circle.Circle method 8-8
        geo.Circle.area method 9-11
        geo.Circle class 12-14
        geo.clamp function 16-21
        Shape.total function 23-25
        """,
    ),
    "ruby": (
        "lib/circle.rb",
        RUBY,
        """
        - module 1-1
        Shapes namespace 3-4
        Shapes.Circle class 5-7
        Shapes.Circle.initialize method 9-11
        Shapes.Circle.area method 13-18
        helper function 20-22
        """,
    ),
    "csharp": (
        "App/Orders.cs",
        CSHARP,
        """
        - module 1-1
        App.Services namespace 3-4
        App.Services.OrderService class 5-8
        App.Services.OrderService.Add method 10-16
        App.Services.State enum 18-19
        """,
    ),
    "javascript": (
        "web/cache.js",
        JAVASCRIPT,
        """
        - module 1-1
        readFile function 3-8
        double function 10-10
        Cache class 12-12
        Cache.get method 13-18
        - module 20-20
        """,
    ),
    "typescript": (
        "web/store.ts",
        TYPESCRIPT,
        """
        - module 1-1
        User interface 3-5
        Id type 7-7
        UserStore class 9-11
        UserStore.add method 13-17
        load function 19-21
        """,
    ),
    "tsx": (
        "web/app.tsx",
        TSX,
        """
        - module 1-1
        Props type 3-3
        Greeting function 5-8
        App class 10-14
        """,
    ),
}
